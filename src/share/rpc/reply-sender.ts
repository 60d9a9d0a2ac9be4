// Writes a connection's reply records in the order they are given. A large
// reply (a READ's megabyte) is sent from a thread of libuv's pool on a
// duplicate of the socket's descriptor: sending 1 MiB over loopback cost the
// event loop 380-530 us, most of it the kernel's copy and the receiving side's
// TCP work, all done in the sender's context. Replies given meanwhile wait
// until it is sent, then go out together. What the socket does not take at once
// (it is full) is written through the socket itself, which waits for room
// without spinning; so is everything while anything it holds is unsent.
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { duplicateSocketDescriptor, sendSome } from '../../fileio/fileio.ts';
import { recordMark } from './record-marking.ts';
import type { XdrWriter } from './xdr.ts';

/** Replies at least this long are sent from the pool. */
export const POOL_SEND_MIN = 256 * 1024;
/** Bytes waiting behind a send from the pool past which the connection should stop reading calls. */
const WAITING_MAX = 4 * 1024 * 1024;

export class ReplySender {
  /** Our duplicate of the socket's descriptor; undefined where it has none (every reply then goes through the socket). */
  private fd: number | undefined;
  private sending = false;
  private waiting: XdrWriter[] = [];
  private waitingBytes = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    /** Called once the replies that made full() true have gone to the socket. */
    private readonly drained: () => void,
  ) {
    try {
      this.fd = duplicateSocketDescriptor(socket);
    } catch {
      this.fd = undefined;
    }
  }

  /** Too much is unsent: the connection should stop reading calls until drained() (or the socket's 'drain'). */
  get full(): boolean {
    return this.waitingBytes >= WAITING_MAX || this.socket.writableNeedDrain;
  }

  /** Sends `reply` after every reply given before it; its done() is called once the kernel has it all, or the connection is gone. */
  send(reply: XdrWriter): void {
    if (this.closed) return reply.done();
    if (this.sending) {
      this.waiting.push(reply);
      this.waitingBytes += reply.length;
      return;
    }
    this.write([reply], reply.length);
  }

  /** The connection is gone: replies not yet sent are dropped, and the descriptor closed once no send uses it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting.splice(0).forEach((reply) => reply.done());
    this.waitingBytes = 0;
    if (!this.sending) this.closeDescriptor();
  }

  private write(replies: XdrWriter[], bytes: number): void {
    const pieces = replies.flatMap((reply) => [recordMark(reply.length), ...reply.buffers()]);
    const fd = this.fd;
    if (fd === undefined || bytes < POOL_SEND_MIN || this.socket.writableLength > 0) return this.writeThroughSocket(pieces, replies);
    this.sending = true;
    sendSome(fd, pieces).then(
      (sent) => {
        this.sending = false;
        if (this.closed) {
          replies.forEach((reply) => reply.done());
          return this.closeDescriptor();
        }
        if (sent < bytes + 4 * replies.length) this.writeThroughSocket(unsent(pieces, sent), replies);
        else replies.forEach((reply) => reply.done());
        this.sendWaiting();
      },
      (err: Error) => {
        this.sending = false;
        replies.forEach((reply) => reply.done());
        this.socket.destroy(err);
        this.close();
      },
    );
  }

  private sendWaiting(): void {
    const wasFull = this.full;
    const replies = this.waiting.splice(0);
    const bytes = this.waitingBytes;
    this.waitingBytes = 0;
    if (replies.length > 0) this.write(replies, bytes);
    if (wasFull && !this.full) this.drained();
  }

  private writeThroughSocket(pieces: Buffer[], replies: XdrWriter[]): void {
    const socket = this.socket;
    socket.cork();
    pieces.forEach((piece, i) => socket.write(piece, i === pieces.length - 1 ? () => replies.forEach((reply) => reply.done()) : undefined));
    socket.uncork();
  }

  private closeDescriptor(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** What is left of `pieces` after their first `sent` bytes. */
function unsent(pieces: Buffer[], sent: number): Buffer[] {
  let skip = sent;
  const rest: Buffer[] = [];
  for (const piece of pieces) {
    if (skip >= piece.length) skip -= piece.length;
    else {
      rest.push(skip > 0 ? piece.subarray(skip) : piece);
      skip = 0;
    }
  }
  return rest;
}
