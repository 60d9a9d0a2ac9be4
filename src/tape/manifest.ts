// A cartridge's manifest: everything needed to rebuild it from the bucket
// alone. Two copies alternate (slots a and b) so that a crash while one is
// rewritten leaves the other whole; the higher valid generation wins.
import { crc32c } from '../crc32c/crc32c.ts';

export const MANIFEST_FORMAT = 1;

export interface SegmentSummary {
  /** Never reused within a cartridge: new data after a rewrite goes to a new segment. */
  readonly seq: number;
  readonly firstObject: number;
  readonly objects: number;
  readonly bytes: number;
}

export interface Manifest {
  readonly format: number;
  readonly barcode: string;
  readonly generation: number;
  readonly createdAt: string;
  readonly capacityBytes: number;
  readonly earlyWarningBytes: number;
  readonly densityCode: number;
  readonly worm: boolean;
  readonly segmentBytes: number;
  readonly segments: readonly SegmentSummary[];
  /** Logical object numbers of every filemark, ascending. */
  readonly filemarks: readonly number[];
  readonly nextSeq: number;
  /**
   * Segments a rewrite dropped whose objects may not all be deleted yet: the
   * cartridge deletes them after the sync point that let them go, and whoever
   * opens it next deletes any that a crash left. Absent when there are none.
   */
  readonly garbage?: readonly number[];
  /** Host attributes of the medium auxiliary memory (WRITE ATTRIBUTE), value in base64; absent when none were written. */
  readonly attributes?: readonly StoredAttribute[];
}

export interface StoredAttribute {
  readonly id: number;
  readonly format: number;
  readonly value: string;
}

export class CorruptManifestError extends Error {}

export function encodeManifest(manifest: Manifest): Buffer {
  const body = Buffer.from(JSON.stringify(manifest));
  const out = Buffer.allocUnsafe(body.length + 9);
  body.copy(out, 0);
  out.write(`\n${(crc32c(body) >>> 0).toString(16).padStart(8, '0')}`, body.length, 'latin1');
  return out;
}

export function decodeManifest(bytes: Buffer): Manifest {
  const text = bytes.toString('utf8');
  const split = text.lastIndexOf('\n');
  if (split < 0) throw new CorruptManifestError('manifest without a checksum');
  const body = Buffer.from(text.slice(0, split));
  if ((crc32c(body) >>> 0).toString(16).padStart(8, '0') !== text.slice(split + 1))
    throw new CorruptManifestError('manifest fails its checksum');
  const manifest = JSON.parse(body.toString('utf8')) as Manifest;
  if (manifest.format !== MANIFEST_FORMAT) throw new CorruptManifestError(`manifest format ${manifest.format} is not supported`);
  return manifest;
}
