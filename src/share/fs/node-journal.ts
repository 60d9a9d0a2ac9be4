// The node table's journal: each commit's catalog operations, appended with a
// synchronous write on the event loop's thread before the commit's reply, so
// that the kernel holds them when the reply leaves (kill -9 loses nothing)
// while LevelDB receives them later, in the background. A record is
//   u32 LE  length of the body
//   u32 LE  CRC32C of the body
//   body    UTF-8 JSON [seq, ops]
// A crash mid-append leaves a torn tail: a last record cut short, or one
// followed by nothing but zeros (what a file system may show past what reached
// its disk). Replay ignores that; a bad record with records after it is damage,
// reported as such.
import { closeSync, ftruncateSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { crc32c } from '../../crc32c/crc32c.ts';

export interface JournalOp {
  readonly type: 'put' | 'del';
  readonly key: string;
  readonly value?: unknown;
}

export interface JournalRecord {
  /** Commits are numbered from 1, in order; the catalog keeps the last one applied. */
  readonly seq: number;
  readonly ops: readonly JournalOp[];
}

const HEADER = 8;

export class JournalDamagedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalDamagedError';
  }
}

export function encodeRecord(record: JournalRecord): Buffer {
  const body = Buffer.from(JSON.stringify([record.seq, record.ops]), 'utf8');
  const bytes = Buffer.allocUnsafe(HEADER + body.length);
  bytes.writeUInt32LE(body.length, 0);
  bytes.writeUInt32LE(crc32c(body), 4);
  body.copy(bytes, HEADER);
  return bytes;
}

/** The records in `bytes`, up to a torn tail; `end`: where they end. Throws JournalDamagedError for a bad record with more after it. */
export function decodeRecords(bytes: Uint8Array, name: string): { records: JournalRecord[]; end: number } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalRecord[] = [];
  let at = 0;
  while (at < buffer.length) {
    const record = recordAt(buffer, at);
    if (record === undefined) {
      const length = at + HEADER <= buffer.length ? buffer.readUInt32LE(at) : 0;
      const after = at + HEADER + length;
      if (after >= buffer.length || buffer.subarray(after).every((byte) => byte === 0)) return { records, end: at };
      throw new JournalDamagedError(
        `the journal ${name} has a bad record at byte ${at} of ${buffer.length}, with ${buffer.length - after} bytes after it: ` +
          'the file is damaged; the catalog holds the commits before that record',
      );
    }
    records.push(record.record);
    at = record.next;
  }
  return { records, end: at };
}

function recordAt(buffer: Buffer, at: number): { record: JournalRecord; next: number } | undefined {
  if (at + HEADER > buffer.length) return undefined;
  const length = buffer.readUInt32LE(at);
  const next = at + HEADER + length;
  if (length === 0 || next > buffer.length) return undefined;
  const body = buffer.subarray(at + HEADER, next);
  if (crc32c(body) !== buffer.readUInt32LE(at + 4)) return undefined;
  const [seq, ops] = JSON.parse(body.toString('utf8')) as [number, JournalOp[]];
  return { record: { seq, ops }, next };
}

/** The journal's file: appended to, and emptied once the catalog holds everything in it. */
export class NodeJournal {
  private constructor(
    private readonly path: string,
    private readonly fd: number,
    private bytes: number,
  ) {}

  /** Opens (creating) the journal; `records`: what it holds, up to a torn tail, which the next append overwrites. */
  static open(path: string): { journal: NodeJournal; records: JournalRecord[] } {
    let existing: Buffer;
    try {
      existing = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      existing = Buffer.alloc(0);
    }
    const { records, end } = decodeRecords(existing, path);
    const fd = openSync(path, 'a');
    if (end < existing.length) ftruncateSync(fd, end);
    return { journal: new NodeJournal(path, fd, end), records };
  }

  get size(): number {
    return this.bytes;
  }

  /** Appends the record; the kernel has it when this returns. A failed append leaves the file as it was. */
  append(record: JournalRecord): void {
    const bytes = encodeRecord(record);
    try {
      for (let done = 0; done < bytes.length;) done += writeSync(this.fd, bytes, done);
    } catch (error) {
      ftruncateSync(this.fd, this.bytes);
      throw error;
    }
    this.bytes += bytes.length;
  }

  /** Empties the journal: the catalog holds every record in it. */
  empty(): void {
    ftruncateSync(this.fd, 0);
    this.bytes = 0;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Deletes the closed journal's file (the share is deleted). */
  remove(): void {
    unlinkSync(this.path);
  }
}
