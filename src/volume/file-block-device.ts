import { close as closeFd, fdatasync, fstat, ftruncate, open as openFd, read as readFd, write as writeFd, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import type { BlockDevice, LentRead, ProvisioningExtent } from '../../scsi/sbc/block-device.ts';
import { BufferPool } from '../buffers/buffer-pool.ts';
import { noRelease, releaseOnce } from '../buffers/release-once.ts';
import { readCached } from '../fileio/fileio.ts';
import { inlineWritable, InlineWriteGate } from '../fileio/inline-write-gate.ts';

export interface FileBlockDeviceOptions {
  path: string;
  /**
   * Capacity in bytes. Required to create the file; an existing smaller file
   * is grown (sparsely) to it, a larger one is an error: shrinking a volume
   * would silently drop data.
   */
  size?: number;
  /** Logical block size; default 512. */
  blockSize?: number;
  /** Reported physical block size, a power-of-two multiple of blockSize; default blockSize. */
  physicalBlockSize?: number;
  readOnly?: boolean;
  /** Decides when small writes may be made on the event loop's thread; default: a gate of its own (the gateway gives every file it writes one gate). */
  inlineWrites?: InlineWriteGate;
  /** Lends readLent()'s buffers; default: a pool of its own (the gateway gives every volume one pool). */
  readBuffers?: BufferPool;
}

/** Reads up to this size are first tried from the page cache on the event loop's thread (see read()). */
const INLINE_READ_MAX = 128 * 1024;
/** Bytes handled per read or write while scanning or zeroing a range. */
const CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

type PositionalIo = (
  fd: number,
  buf: Buffer,
  at: number,
  length: number,
  position: number,
  callback: (err: NodeJS.ErrnoException | null, bytes: number) => void,
) => void;

/**
 * Small reads take their buffer from a shared slab, as Buffer.allocUnsafe does
 * below 4 KiB: a fresh ArrayBuffer for every 4 KiB read costs about a
 * microsecond. A slab lives until its last piece is collected.
 */
const SLAB_BYTES = 1024 * 1024;
const SLAB_PIECE_MAX = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function readBuffer(length: number): Buffer {
  if (length > SLAB_PIECE_MAX) return Buffer.allocUnsafe(length);
  if (slabUsed + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const piece = Buffer.from(slab, slabUsed, length);
  // Pieces stay 8-byte aligned, like the pool's.
  slabUsed += (length + 7) & ~7;
  return piece;
}

/** fdatasync(2) on `fd`, answered through callbacks like the reads and writes. */
function datasync(fd: number, resolve: () => void, reject: (err: unknown) => void): void {
  fdatasync(fd, (err) => (err ? reject(err) : resolve()));
}

const openFile = promisify(openFd);
const statFile = promisify(fstat);
const truncateFile = promisify(ftruncate);
const closeFile = promisify(closeFd);

/**
 * A BlockDevice over one sparse local file, with positional asynchronous I/O.
 *
 * Node offers no hole punching (fallocate) and no SEEK_HOLE, so discard
 * writes zeros over whatever is not already zero (a range that is still a
 * hole stays one), and provisioning reports all-zero blocks as deallocated:
 * the zero detection thin-provisioned arrays do, consistent with LBPRZ=1.
 *
 * I/O goes through the callback fs API on the descriptor: FileHandle's
 * promise API costs about twice the CPU per call, which bounds small random
 * I/O. close() keeps FileHandle's contract: it waits for I/O in flight, later
 * I/O fails with EBADF, and closing again resolves.
 */
export class FileBlockDevice implements BlockDevice {
  /** I/O calls in flight; the descriptor is closed when they are done. */
  private busy = 0;
  /** Writes handed to the thread pool and not yet done. */
  private pooledWrites = 0;
  private closing?: Promise<void>;
  private closeWhenIdle?: () => void;

  private constructor(
    private fd: number,
    readonly path: string,
    readonly size: number,
    readonly blockSize: number,
    readonly physicalBlockSize: number,
    readonly readOnly: boolean,
    private readonly inlineWrites: InlineWriteGate,
    private readonly readBuffers: BufferPool,
  ) {}

  static async open(options: FileBlockDeviceOptions): Promise<FileBlockDevice> {
    const blockSize = options.blockSize ?? 512;
    if (!Number.isInteger(blockSize) || blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) {
      throw new RangeError(`block size ${blockSize} is not a power of two between 512 and 65536`);
    }
    if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size <= 0 || options.size % blockSize !== 0)) {
      throw new RangeError(`size ${options.size} is not a positive multiple of the block size ${blockSize}`);
    }
    const physicalBlockSize = options.physicalBlockSize ?? blockSize;
    const ratio = physicalBlockSize / blockSize;
    if (!Number.isInteger(ratio) || (ratio & (ratio - 1)) !== 0 || ratio > 1 << 15) {
      throw new RangeError(`physical block size ${physicalBlockSize} is not a power-of-two multiple of the block size ${blockSize}`);
    }
    const readOnly = options.readOnly ?? false;
    let fd: number;
    try {
      fd = await openFile(options.path, readOnly ? 'r' : 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || readOnly || options.size === undefined) throw err;
      fd = await openFile(options.path, 'wx+');
    }
    try {
      const { size: fileSize } = await statFile(fd);
      const size = options.size ?? fileSize;
      if (fileSize > size) {
        throw new RangeError(`${options.path} holds ${fileSize} bytes, more than the requested size ${size}`);
      }
      if (fileSize < size) {
        if (readOnly) throw new RangeError(`${options.path} holds ${fileSize} bytes, less than ${size}, and is opened read-only`);
        await truncateFile(fd, size);
      }
      if (size === 0 || size % blockSize !== 0) {
        throw new RangeError(`${options.path}: size ${size} is not a positive multiple of the block size ${blockSize}`);
      }
      return new FileBlockDevice(
        fd,
        options.path,
        size,
        blockSize,
        physicalBlockSize,
        readOnly,
        options.inlineWrites ?? new InlineWriteGate(),
        options.readBuffers ?? new BufferPool(),
      );
    } catch (err) {
      await closeFile(fd);
      throw err;
    }
  }

  private acquire(syscall: string): number {
    if (this.fd === -1) throw Object.assign(new Error('file closed'), { code: 'EBADF', syscall });
    this.busy++;
    return this.fd;
  }

  private release(): void {
    if (--this.busy === 0) this.closeWhenIdle?.();
  }

  private readAt(buf: Buffer, at: number, length: number, position: number): Promise<number> {
    return this.holding('read', (fd, resolve, reject) => this.transfer(fd, readFd, buf, at, length, position, resolve, reject));
  }

  // read() and write() are one promise around callbacks, not an await per
  // system call: a 4 KiB command is one pread or pwrite, and each promise
  // and microtask turn counts at tens of thousands of commands a second.

  read(offset: number, length: number): Promise<Buffer> {
    return this.readInto(readBuffer(length), offset);
  }

  /** read() into a buffer of the pool when it keeps that size (a small one comes from the slab, which needs no giving back). */
  readLent(offset: number, length: number): Promise<LentRead> {
    if (!this.readBuffers.pools(length)) return this.read(offset, length).then((data) => ({ data, release: noRelease }));
    const buf = this.readBuffers.take(length);
    const release = releaseOnce(() => this.readBuffers.give(buf));
    return this.readInto(buf, offset).then(
      (data) => ({ data, release }),
      (err: unknown) => {
        release();
        throw err;
      },
    );
  }

  /** Fills `buf` from `offset`. */
  private readInto(buf: Buffer, offset: number): Promise<Buffer> {
    const length = buf.length;
    // Bytes the page cache holds are copied at once, without a thread-pool round trip; the rest go through the pool.
    if (length <= INLINE_READ_MAX && this.fd !== -1 && readCached(this.fd, buf, offset) === length) return Promise.resolve(buf);
    return this.holding('read', (fd, resolve, reject) => this.whole(fd, readFd, 'read', buf, 0, offset, () => resolve(buf), reject));
  }

  /**
   * A small write of whole pages goes into the page cache from the event
   * loop's thread when the gate allows (see InlineWriteGate) and no earlier
   * write is still queued on the pool, so that it never overtakes one; any
   * other write goes through the pool. With `fua`, the flush belongs to the
   * write: close() cannot come between them.
   */
  write(offset: number, data: Buffer, options?: { fua?: boolean }): Promise<void> {
    return this.holding('write', (fd, resolve, reject) => {
      const written = (): void => (options?.fua ? datasync(fd, resolve, reject) : resolve());
      try {
        if (this.mayWriteInline(offset, data.length) && this.inlineWrites.tryWrite(() => this.writeNow(fd, data, offset))) return written();
      } catch (err) {
        return reject(err);
      }
      this.pooledWrites++;
      this.whole(
        fd,
        writeFd,
        'write',
        data,
        0,
        offset,
        () => {
          this.pooledWrites--;
          written();
        },
        (err) => {
          this.pooledWrites--;
          reject(err);
        },
      );
    });
  }

  private mayWriteInline(offset: number, length: number): boolean {
    return this.pooledWrites === 0 && inlineWritable(offset, length);
  }

  private writeNow(fd: number, data: Buffer, offset: number): void {
    for (let done = 0; done < data.length;) {
      const bytes = writeSync(fd, data, done, data.length - done, offset + done);
      if (bytes === 0) throw new Error(`${this.path}: write moved no bytes at ${offset + done} (end of file?)`);
      done += bytes;
    }
  }

  /**
   * One promise around `io`, with the file held open from the first system call
   * to the last: close() waits for it, so no later call finds the file closed.
   */
  private holding<T>(syscall: string, io: (fd: number, resolve: (value: T) => void, reject: (err: unknown) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let fd: number;
      try {
        fd = this.acquire(syscall);
      } catch (err) {
        return reject(err);
      }
      io(
        fd,
        (value) => {
          this.release();
          resolve(value);
        },
        (err) => {
          this.release();
          reject(err);
        },
      );
    });
  }

  /** Transfers buf[done..] at offset + done, one system call after another until all of it has moved. */
  private whole(
    fd: number,
    op: PositionalIo,
    syscall: string,
    buf: Buffer,
    done: number,
    offset: number,
    onDone: () => void,
    onError: (err: unknown) => void,
  ): void {
    if (done === buf.length) return onDone();
    this.transfer(
      fd,
      op,
      buf,
      done,
      buf.length - done,
      offset + done,
      (bytes) => {
        if (bytes === 0) onError(new Error(`${this.path}: ${syscall} moved no bytes at ${offset + done} (end of file?)`));
        else this.whole(fd, op, syscall, buf, done + bytes, offset, onDone, onError);
      },
      onError,
    );
  }

  /** One pread or pwrite of buf[at, at + length) at position, on a file the caller holds open. */
  private transfer(
    fd: number,
    op: PositionalIo,
    buf: Buffer,
    at: number,
    length: number,
    position: number,
    onDone: (bytes: number) => void,
    onError: (err: unknown) => void,
  ): void {
    op(fd, buf, at, length, position, (err, bytes) => {
      if (err) onError(err);
      else onDone(bytes);
    });
  }

  flush(): Promise<void> {
    return this.holding('fdatasync', datasync);
  }

  async discard(offset: number, length: number): Promise<void> {
    // Zeros go only over the runs of blocks that are not zero already, so a
    // hole inside the range is not allocated.
    if (length === 0) return;
    for (const extent of await this.provisioning(offset, length)) {
      if (!extent.mapped) continue;
      for (let pos = extent.offset; pos < extent.offset + extent.length; pos += CHUNK) {
        await this.write(pos, ZEROS.subarray(0, Math.min(CHUNK, extent.offset + extent.length - pos)));
      }
    }
  }

  async provisioning(offset: number, maxLength: number): Promise<ProvisioningExtent[]> {
    const end = Math.min(this.size, offset + Math.max(maxLength, this.blockSize));
    const extents: { offset: number; length: number; mapped: boolean }[] = [];
    for (let pos = offset; pos < end; pos += CHUNK) {
      const data = await this.read(pos, Math.min(CHUNK, end - pos));
      for (let i = 0; i < data.length; i += this.blockSize) {
        const mapped = !ZEROS.subarray(0, this.blockSize).equals(data.subarray(i, i + this.blockSize));
        const last = extents[extents.length - 1];
        if (last && last.mapped === mapped) last.length += this.blockSize;
        else extents.push({ offset: pos + i, length: this.blockSize, mapped });
      }
    }
    return extents;
  }

  async prefetch(offset: number, length: number): Promise<void> {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, length));
    for (let pos = offset; pos < offset + length; pos += CHUNK) {
      await this.readAt(buf, 0, Math.min(CHUNK, offset + length - pos), pos);
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.fd === -1) return Promise.resolve();
    this.closing = new Promise<void>((resolve, reject) => {
      this.closeWhenIdle = () => {
        const fd = this.fd;
        this.fd = -1;
        this.closeWhenIdle = undefined;
        closeFd(fd, (err) => {
          this.closing = undefined;
          if (err) reject(err);
          else resolve();
        });
      };
      if (this.busy === 0) this.closeWhenIdle();
    });
    return this.closing;
  }
}
