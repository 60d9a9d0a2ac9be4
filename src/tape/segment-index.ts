// The index object of one cartridge segment: one entry per logical object
// (record or filemark) in the order written, with each record's length and
// CRC32C. Append-only: entries are only ever added after the ones a durable
// manifest already counts, so a crash mid-write never harms those.

const MAGIC = 0x54475358; // "TGSX"
const VERSION = 1;
export const INDEX_HEADER_BYTES = 8;
export const INDEX_ENTRY_BYTES = 9;
const FILEMARK = 1;
/** A record the drive wrote encrypted; only ever set on such records, so other cartridges are as before. */
const ENCRYPTED = 2;

export interface IndexEntry {
  readonly filemark: boolean;
  readonly encrypted?: boolean;
  /** Record length in bytes (0 for a filemark). */
  readonly length: number;
  readonly crc: number;
}

export class CorruptIndexError extends Error {}

export function indexHeader(): Buffer {
  const out = Buffer.alloc(INDEX_HEADER_BYTES);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt16BE(VERSION, 4);
  return out;
}

export function encodeEntries(entries: readonly IndexEntry[]): Buffer {
  const out = Buffer.allocUnsafe(entries.length * INDEX_ENTRY_BYTES);
  entries.forEach((e, i) => {
    const at = i * INDEX_ENTRY_BYTES;
    out[at] = e.filemark ? FILEMARK : e.encrypted ? ENCRYPTED : 0;
    out.writeUInt32BE(e.length, at + 1);
    out.writeUInt32BE(e.crc >>> 0, at + 5);
  });
  return out;
}

/** The first `count` entries of an index object. */
export function decodeIndex(bytes: Buffer, count: number): IndexEntry[] {
  if (bytes.length < INDEX_HEADER_BYTES || bytes.readUInt32BE(0) !== MAGIC) throw new CorruptIndexError('not a segment index');
  if (bytes.readUInt16BE(4) !== VERSION) throw new CorruptIndexError(`segment index version ${bytes.readUInt16BE(4)} is not supported`);
  if (bytes.length < INDEX_HEADER_BYTES + count * INDEX_ENTRY_BYTES)
    throw new CorruptIndexError('segment index is shorter than its manifest says');
  const entries = new Array<IndexEntry>(count);
  for (let i = 0; i < count; i++) {
    const at = INDEX_HEADER_BYTES + i * INDEX_ENTRY_BYTES;
    const flags = bytes[at];
    if (flags !== 0 && flags !== FILEMARK && flags !== ENCRYPTED)
      throw new CorruptIndexError(`segment index entry ${i} has unknown flags ${flags}`);
    const entry: IndexEntry = { filemark: flags === FILEMARK, length: bytes.readUInt32BE(at + 1), crc: bytes.readUInt32BE(at + 5) };
    entries[i] = flags === ENCRYPTED ? { ...entry, encrypted: true } : entry;
  }
  return entries;
}
