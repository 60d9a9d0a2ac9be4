// Which objects make up a cartridge: its manifests and the segments its newest
// whole manifest counts (segments a rewrite dropped are not part of it).
import { cartridgeKeys, segmentObjectKeys } from '../tape/cartridge.ts';
import { CorruptManifestError, decodeManifest, type Manifest } from '../tape/manifest.ts';
import type { ObjectSpec } from './archive-format.ts';

export interface ObjectSource {
  size(key: string): Promise<number | undefined>;
  read(key: string, offset: number, length: number): Promise<Buffer>;
}

export async function cartridgeObjects(store: ObjectSource, barcode: string): Promise<ObjectSpec[]> {
  const objects: ObjectSpec[] = [];
  let newest: Manifest | undefined;
  for (const key of cartridgeKeys(barcode).manifests) {
    const size = await store.size(key);
    if (size === undefined) continue;
    objects.push({ key, size });
    try {
      const manifest = decodeManifest(await store.read(key, 0, size));
      if (!newest || manifest.generation > newest.generation) newest = manifest;
    } catch (error) {
      if (!(error instanceof CorruptManifestError)) throw error;
    }
  }
  if (!newest) throw new Error(`cartridge ${barcode} has no whole manifest in the cache or the bucket`);
  for (const { key, mayBeAbsent } of segmentObjectKeys(barcode, newest.segments)) {
    const size = await store.size(key);
    if (size === undefined && mayBeAbsent) continue;
    if (size === undefined) throw new Error(`cartridge ${barcode}: segment object ${key}, which its manifest counts, is missing`);
    objects.push({ key, size });
  }
  return objects;
}
