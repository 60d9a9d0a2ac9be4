// Writes target PDUs to the socket: header (+ digest), data (+ padding and
// digest). Data buffers are never copied. The socket stays corked from the
// first PDU of an event-loop turn until the turn's I/O callbacks have run, so
// the responses of every command that completed in that turn leave in one
// writev: at queue depth 32 that is one system call for many commands, at
// queue depth 1 it costs a setImmediate. A PDU with a large data segment goes
// out at once: batching gains nothing there, and holding a whole large read's
// Data-In back for one writev made 1 MiB sequential reads several times slower.
import type { Socket } from 'node:net';
import { digestOf } from './digest.ts';
import { must } from '../must.ts';

const PADDING = [Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(2), Buffer.alloc(3)] as const;
/** Data segments at least this long are written without waiting for the end of the turn. */
const WRITE_AT_ONCE = 64 * 1024;

export class PduWriter {
  headerDigest = false;
  dataDigest = false;
  private corked = false;

  constructor(private readonly socket: Socket) {}

  /**
   * Queues one PDU. Nothing waits for the socket to drain: a response's data
   * is in memory already; the session stops widening the command window
   * while too much is queued (see unsent()). `written` is called once the
   * kernel has taken the whole PDU, or the socket is gone: until then the
   * data's buffer must not change.
   */
  write(bhs: Buffer, data?: Buffer, written?: () => void): void {
    const socket = this.socket;
    if (socket.destroyed) return written?.();
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(this.uncork);
    }
    const chunks = [bhs];
    if (this.headerDigest) chunks.push(digestOf([bhs]));
    if (data && data.length > 0) {
      const pad = must(PADDING[(4 - (data.length & 3)) & 3], 'padding to a 4-byte boundary');
      chunks.push(data);
      if (pad.length) chunks.push(pad);
      if (this.dataDigest) chunks.push(digestOf([data, pad]));
    }
    const last = chunks.length - 1;
    const done = written && ((): void => written());
    chunks.forEach((chunk, i) => socket.write(chunk, i === last ? done : undefined));
    if (data && data.length >= WRITE_AT_ONCE) this.uncork();
  }

  /** Bytes queued that the kernel has not taken yet. */
  unsent(): number {
    return this.socket.writableLength;
  }

  /** Resolves once the queue has drained below the socket's high-water mark (or the socket closed). */
  drained(): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed || socket.writableLength < socket.writableHighWaterMark) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };
}
