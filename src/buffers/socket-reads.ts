// Reads of an accepted connection into memory of our choosing: one buffer that
// every read reuses, or where the receiver asks for the next bytes directly.
// Node reads a socket it accepted into a fresh 64 KiB buffer each time: at
// thousands of commands a second that churn of external memory kept V8's
// garbage collector busy, and every chunk went through the stream machinery
// before it reached the PDU reader. A socket made from the connection's
// descriptor may read into memory of our own (`onread`), chosen afresh before
// every read, and hands each read straight to a callback.
import { closeSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { duplicateSocketDescriptor } from '../fileio/fileio.ts';

/** Where a connection's reads go. */
export interface ReadSink {
  /** Memory the next read should land in instead of the shared buffer, or undefined; asked before every read. */
  directTarget(): Buffer | undefined;
  /** The read into what directTarget() returned last brought `bytes` bytes, at its start. */
  landed(bytes: number): void;
  /** Bytes read elsewhere, valid only during this call. */
  receive(bytes: Buffer): void;
}

/**
 * Takes over `accepted` (from a server made with pauseOnConnect) and returns the
 * socket to use instead, whose reads land where `sink` asks or else in one
 * shared buffer of `bufferBytes`. If its descriptor cannot be had, `accepted`
 * itself is returned, delivering its 'data' chunks to sink.receive().
 */
export function readIntoOneBuffer(accepted: Socket, bufferBytes: number, sink: ReadSink): Socket {
  let own: number | undefined;
  try {
    own = duplicateSocketDescriptor(accepted);
    if (own !== undefined) {
      const socket = socketOnDescriptor(own, bufferBytes, sink);
      // The connection lives on in the duplicate: closing the accepted descriptor only lets the server count it closed.
      accepted.destroy();
      return socket;
    }
  } catch {
    if (own !== undefined) closeSync(own);
  }
  accepted.on('data', (bytes: Buffer) => sink.receive(bytes));
  accepted.resume();
  return accepted;
}

/** A socket on a connected descriptor (which it owns from now on), reading as readIntoOneBuffer() describes. */
export function socketOnDescriptor(fd: number, bufferBytes: number, sink: ReadSink): Socket {
  const shared = Buffer.allocUnsafe(bufferBytes);
  let direct: Buffer | undefined;
  // Node's constructor takes `onread` (net.md, "new net.Socket"); its type declarations list it only for connect().
  const options: SocketConstructorOpts & { onread: OnReadOpts } = {
    fd,
    readable: true,
    writable: true,
    onread: {
      // Node asks for the next read's memory after each read (and once on creation).
      buffer: () => (direct = sink.directTarget()) ?? shared,
      // true: go on reading (false would pause the socket).
      callback: (bytes: number, buffer: Uint8Array) => {
        if (buffer === direct) sink.landed(bytes);
        else sink.receive(shared.subarray(0, bytes));
        return true;
      },
    },
  };
  return new Socket(options);
}
