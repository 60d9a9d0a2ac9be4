// Writes target PDUs to the socket: header (+ digest), data (+ padding and
// digest), all in one writev through cork/uncork. Data buffers are never copied.
import type { Socket } from 'node:net';
import { digestOf } from './digest.ts';

const PADDING = [Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(2), Buffer.alloc(3)] as const;

export class PduWriter {
  headerDigest = false;
  dataDigest = false;

  constructor(private readonly socket: Socket) {}

  /** Queues one PDU; returns false when the socket's buffer is full (wait for drained()). */
  write(bhs: Buffer, data?: Buffer): boolean {
    const socket = this.socket;
    if (socket.destroyed) return true;
    socket.cork();
    socket.write(bhs);
    if (this.headerDigest) socket.write(digestOf([bhs]));
    if (data && data.length > 0) {
      const pad = PADDING[(4 - (data.length & 3)) & 3];
      socket.write(data);
      if (pad.length) socket.write(pad);
      if (this.dataDigest) socket.write(digestOf([data, pad]));
    }
    socket.uncork();
    return socket.writableLength < socket.writableHighWaterMark;
  }

  drained(): Promise<void> {
    if (this.socket.destroyed || this.socket.writableLength < this.socket.writableHighWaterMark) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
