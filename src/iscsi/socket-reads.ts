// Reads of an accepted connection into one buffer that every read reuses.
// Node reads a socket it accepted into a fresh 64 KiB buffer each time: at
// thousands of commands a second that churn of external memory kept V8's
// garbage collector busy, and every chunk went through the stream machinery
// before it reached the PDU reader. A socket made from the connection's
// descriptor may read into memory of our own (`onread`), and hands each read
// straight to a callback.
import { closeSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { duplicateDescriptor } from '../fileio/fileio.ts';

/**
 * Takes over `accepted` (from a server made with pauseOnConnect) and returns the
 * socket to use instead, whose reads land in one buffer of `bufferBytes` and
 * go to `onBytes`, valid only during that call. If its descriptor cannot be
 * had, `accepted` itself is returned, delivering its 'data' chunks the same way.
 */
export function readIntoOneBuffer(accepted: Socket, bufferBytes: number, onBytes: (bytes: Buffer) => void): Socket {
  const fd = (accepted as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) {
    let own = -1;
    try {
      own = duplicateDescriptor(fd);
      // Node's constructor takes `onread` (net.md, "new net.Socket"); its type declarations list it only for connect().
      const options: SocketConstructorOpts & { onread: OnReadOpts } = {
        fd: own,
        readable: true,
        writable: true,
        onread: {
          buffer: Buffer.allocUnsafe(bufferBytes),
          // true: go on reading (false would pause the socket).
          callback: (bytes: number, buffer: Uint8Array) => {
            onBytes(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
            return true;
          },
        },
      };
      const socket = new Socket(options);
      // The connection lives on in the duplicate: closing the accepted descriptor only lets the server count it closed.
      accepted.destroy();
      return socket;
    } catch {
      if (own >= 0) closeSync(own);
    }
  }
  accepted.on('data', onBytes);
  accepted.resume();
  return accepted;
}
