// A snapshot in the bucket, readable without the gateway that made it: its
// chunk objects, map parts that say which object holds each chunk, and a
// manifest naming everything (with checksums of the parts). The manifest is
// written last: a snapshot whose manifest is in the bucket is whole.
//
//   volumes/snapshots/SNAPSHOT/manifest.json
//   volumes/snapshots/SNAPSHOT/map-00000.json ...
//   volumes/VOLUME/chunks/INDEX.GENERATION   (INDEX 8 hex digits, GENERATION 12)
import { crc32c } from '../crc32c/crc32c.ts';
import { VOLUMES_NAMESPACE, type ChunkRef } from './chunk-map.ts';
import { VOLUME_ID } from './ids.ts';
import type { SnapshotRecord, VolumeType } from './volume-catalog.ts';

export const MANIFEST_FORMAT = 'tape-gateway/volume-snapshot';
export const MANIFEST_VERSION = 1;
/** Chunks per map part: a part stays a few MiB at most. */
export const MAP_PART_ENTRIES = 65536;

export const SNAPSHOTS_PREFIX = `${VOLUMES_NAMESPACE}snapshots/`;

export function snapshotKeys(snapshotId: string) {
  const base = `${SNAPSHOTS_PREFIX}${snapshotId}/`;
  return { prefix: base, manifest: `${base}manifest.json`, part: (n: number) => `${base}map-${String(n).padStart(5, '0')}.json` };
}

export interface ManifestPart {
  readonly key: string;
  readonly bytes: number;
  readonly crc32c: number;
  readonly chunks: number;
}

export interface SnapshotManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: number;
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly volumeName: string;
  readonly volumeType: VolumeType;
  readonly description: string;
  readonly createdAt: string;
  readonly completedAt: string;
  readonly sizeBytes: number;
  readonly blockSize: number;
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** How to name a chunk object from a map entry [index, volume, generation]. */
  readonly chunkKey: string;
  readonly parts: readonly ManifestPart[];
}

/** One part of the map: [chunk index, volume that wrote it, generation], by index. */
export interface MapPart {
  readonly format: typeof MANIFEST_FORMAT;
  readonly snapshotId: string;
  readonly part: number;
  readonly chunks: readonly (readonly [number, string, number])[];
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** The map parts of a snapshot, encoded. */
export function encodeParts(
  snapshotId: string,
  entries: readonly (readonly [number, ChunkRef])[],
): { key: string; data: Buffer; part: ManifestPart }[] {
  const keys = snapshotKeys(snapshotId);
  const out = [];
  for (let n = 0; n * MAP_PART_ENTRIES < entries.length || n === 0; n++) {
    const slice = entries.slice(n * MAP_PART_ENTRIES, (n + 1) * MAP_PART_ENTRIES);
    const body: MapPart = {
      format: MANIFEST_FORMAT,
      snapshotId,
      part: n,
      chunks: slice.map(([index, ref]) => [index, ref.volume, ref.gen] as const),
    };
    const data = Buffer.from(JSON.stringify(body));
    const key = keys.part(n);
    out.push({ key, data, part: { key, bytes: data.length, crc32c: crc32c(data), chunks: slice.length } });
  }
  return out;
}

export function encodeManifest(record: SnapshotRecord, completedAt: string, parts: readonly ManifestPart[]): Buffer {
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    snapshotId: record.id,
    volumeId: record.volumeId,
    volumeName: record.volumeName,
    volumeType: record.volumeType,
    description: record.description,
    createdAt: record.createdAt,
    completedAt,
    sizeBytes: record.sizeBytes,
    blockSize: record.blockSize,
    chunkSize: record.chunkSize,
    chunkCount: record.chunkCount,
    chunkKey: `${VOLUMES_NAMESPACE}VOLUME/chunks/INDEX.GENERATION, INDEX as 8 and GENERATION as 12 lower-case hex digits`,
    parts,
  };
  return Buffer.from(JSON.stringify(manifest, null, 1));
}

const positive = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isManifestPart = (p: unknown): p is ManifestPart =>
  typeof p === 'object' &&
  p !== null &&
  'key' in p &&
  typeof p.key === 'string' &&
  'bytes' in p &&
  positive(p.bytes) &&
  'crc32c' in p &&
  typeof p.crc32c === 'number' &&
  'chunks' in p &&
  typeof p.chunks === 'number';

export function decodeManifest(data: Buffer, snapshotId: string): SnapshotManifest {
  let m: Partial<SnapshotManifest>;
  try {
    m = JSON.parse(data.toString('utf8')) as Partial<SnapshotManifest>;
  } catch (error) {
    throw new ManifestError(`the manifest of snapshot ${snapshotId} is not JSON: ${(error as Error).message}`);
  }
  const bad = (what: string) => new ManifestError(`the manifest of snapshot ${snapshotId} is not one this gateway reads: ${what}`);
  if (m.format !== MANIFEST_FORMAT) throw bad(`format ${JSON.stringify(m.format)}`);
  if (m.version !== MANIFEST_VERSION) throw bad(`version ${String(m.version)}`);
  if (m.snapshotId !== snapshotId) throw bad(`it names snapshot ${String(m.snapshotId)}`);
  if (
    typeof m.volumeId !== 'string' ||
    !VOLUME_ID.test(m.volumeId) ||
    typeof m.volumeName !== 'string' ||
    (m.volumeType !== 'cached' && m.volumeType !== 'stored')
  )
    throw bad('volume');
  if (!positive(m.sizeBytes) || !positive(m.blockSize) || !positive(m.chunkSize) || !(m.chunkCount === 0 || positive(m.chunkCount)))
    throw bad('sizes');
  const parts: unknown = m.parts;
  if (!Array.isArray(parts) || !parts.every(isManifestPart)) throw bad('parts');
  if (parts.reduce((n, p) => n + p.chunks, 0) !== m.chunkCount) throw bad('its parts do not add up to its chunk count');
  return m as SnapshotManifest;
}

/** A map part checked against the manifest's entry for it; its chunks as [index, ref]. */
export function decodePart(data: Buffer, manifest: SnapshotManifest, part: ManifestPart): [number, ChunkRef][] {
  const bad = (what: string) => new ManifestError(`map part ${part.key} of snapshot ${manifest.snapshotId}: ${what}`);
  if (data.length !== part.bytes || crc32c(data) !== part.crc32c) throw bad('its bytes do not match the manifest');
  let body: Partial<MapPart>;
  try {
    body = JSON.parse(data.toString('utf8')) as Partial<MapPart>;
  } catch (error) {
    throw bad(`not JSON (${(error as Error).message})`);
  }
  if (
    body.format !== MANIFEST_FORMAT ||
    body.snapshotId !== manifest.snapshotId ||
    !Array.isArray(body.chunks) ||
    body.chunks.length !== part.chunks
  )
    throw bad('wrong content');
  const chunks = Math.ceil(manifest.sizeBytes / manifest.chunkSize);
  return body.chunks.map((entry) => {
    const [index, volume, gen] = entry as [unknown, unknown, unknown];
    if (
      typeof index !== 'number' ||
      !Number.isSafeInteger(index) ||
      index < 0 ||
      index >= chunks ||
      typeof volume !== 'string' ||
      !VOLUME_ID.test(volume) ||
      !positive(gen)
    ) {
      throw bad(`entry ${JSON.stringify(entry)}`);
    }
    return [index, { volume, gen: gen as number }];
  });
}
