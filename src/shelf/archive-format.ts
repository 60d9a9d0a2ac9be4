// The container a cartridge is archived as: self-describing, so an archive
// alone says what it holds and whether it is whole.
//
//   "TGWSHLF1"                      8 bytes, magic and format version
//   header length                   u32 big-endian, at most 16 MiB
//   header                          JSON {"barcode", "objects": [{"key", "size"}, ...]}
//   CRC32C of the header            u32 big-endian
//   for each object, in order:      its bytes, then their CRC32C (u32 big-endian)
//
// The CRCs of the objects also go to the shelf record's table of contents, so a
// retrieved object is checked against both.
import { crc32c } from '../crc32c/crc32c.ts';

const MAGIC = Buffer.from('TGWSHLF1', 'latin1');
const MAX_HEADER = 16 * 1024 * 1024;
const U32 = 4;

export interface ObjectSpec {
  readonly key: string;
  readonly size: number;
}

const isObjectSpec = (o: unknown): o is ObjectSpec =>
  typeof o === 'object' &&
  o !== null &&
  'key' in o &&
  typeof o.key === 'string' &&
  'size' in o &&
  typeof o.size === 'number' &&
  Number.isSafeInteger(o.size) &&
  o.size >= 0;

export interface ContainerHeader {
  readonly barcode: string;
  readonly objects: readonly ObjectSpec[];
}

/** The archive cannot be what it claims: a bad magic, length or checksum. */
export class ArchiveFormatError extends Error {
  override readonly name = 'ArchiveFormatError';
}

function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(U32);
  out.writeUInt32BE(value >>> 0);
  return out;
}

function headerBytes(header: ContainerHeader): Buffer {
  const json = Buffer.from(JSON.stringify({ barcode: header.barcode, objects: header.objects.map(({ key, size }) => ({ key, size })) }));
  return Buffer.concat([MAGIC, u32(json.length), json, u32(crc32c(json))]);
}

/** Bytes of the container for these objects. */
export function containerSize(header: ContainerHeader): number {
  return headerBytes(header).length + header.objects.reduce((sum, o) => sum + o.size + U32, 0);
}

/**
 * The container as a stream of chunks. `read` gives each object's bytes in
 * order; `onObject` hears each object's CRC32C once it has streamed.
 */
export async function* encodeContainer(
  header: ContainerHeader,
  read: (object: ObjectSpec) => AsyncIterable<Buffer>,
  onObject: (object: ObjectSpec, crc: number) => void,
): AsyncGenerator<Buffer> {
  yield headerBytes(header);
  for (const object of header.objects) {
    let crc = 0;
    let length = 0;
    for await (const chunk of read(object)) {
      crc = crc32c(chunk, crc);
      length += chunk.length;
      yield chunk;
    }
    if (length !== object.size) throw new Error(`object ${object.key} was ${object.size} bytes when listed and ${length} when read`);
    onObject(object, crc >>> 0);
    yield u32(crc);
  }
}

/** Pulls exact byte counts from a stream of chunks. */
class ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  async take(length: number): Promise<Buffer> {
    while (this.buffered < length) {
      const next = await this.source.next();
      if (next.done) throw new ArchiveFormatError(`the archive ends ${length - this.buffered} bytes short`);
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    if (all.length > length) this.chunks.push(all.subarray(length));
    this.buffered -= length;
    return all.subarray(0, length);
  }

  async end(): Promise<void> {
    if (this.buffered > 0 || !(await this.source.next()).done) throw new ArchiveFormatError('the archive has bytes after its last object');
  }
}

/**
 * Reads a container: first its header, then each object with its bytes,
 * checked against the CRC32C that follows them. Throws ArchiveFormatError on
 * anything that does not add up.
 */
export async function* decodeContainer(
  chunks: AsyncIterable<Buffer>,
): AsyncGenerator<ContainerHeader | { object: ObjectSpec; data: Buffer; crc: number }> {
  const reader = new ByteReader(chunks[Symbol.asyncIterator]());
  if (!(await reader.take(MAGIC.length)).equals(MAGIC))
    throw new ArchiveFormatError('the archive is not a tapegw shelf container (bad magic)');
  const length = (await reader.take(U32)).readUInt32BE();
  if (length > MAX_HEADER) throw new ArchiveFormatError(`the archive's header claims ${length} bytes`);
  const json = await reader.take(length);
  if ((await reader.take(U32)).readUInt32BE() !== crc32c(json) >>> 0) throw new ArchiveFormatError("the archive's header fails its CRC32C");
  const parsed = JSON.parse(json.toString('utf8')) as { barcode?: unknown; objects?: unknown };
  const { barcode, objects } = parsed;
  if (typeof barcode !== 'string' || !Array.isArray(objects) || !objects.every(isObjectSpec)) {
    throw new ArchiveFormatError("the archive's header is not a table of objects");
  }
  const header: ContainerHeader = { barcode, objects };
  yield header;
  for (const object of header.objects) {
    const data = await reader.take(object.size);
    const crc = crc32c(data) >>> 0;
    if ((await reader.take(U32)).readUInt32BE() !== crc)
      throw new ArchiveFormatError(`object ${object.key} in the archive fails its CRC32C`);
    yield { object, data, crc };
  }
  await reader.end();
}
