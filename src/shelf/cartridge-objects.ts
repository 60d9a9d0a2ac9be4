// Which objects make up a cartridge: its manifests and the segments its newest
// whole manifest counts (segments a rewrite dropped are not part of it).
import { cartridgeKeys } from '../tape/cartridge.ts';
import { CorruptManifestError, decodeManifest, type Manifest } from '../tape/manifest.ts';
import type { ObjectSpec } from './archive-format.ts';

export interface ObjectSource {
  size(key: string): Promise<number | undefined>;
  read(key: string, offset: number, length: number): Promise<Buffer>;
}

/** The manifest slots cartridge.ts alternates between. */
const MANIFEST_SLOTS = ['a', 'b'];

export async function cartridgeObjects(store: ObjectSource, barcode: string): Promise<ObjectSpec[]> {
  const keys = cartridgeKeys(barcode);
  const objects: ObjectSpec[] = [];
  let newest: Manifest | undefined;
  for (const slot of MANIFEST_SLOTS) {
    const key = keys.manifest(slot);
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
  for (const segment of newest.segments) {
    // A segment of filemarks only has no data bytes, and one just begun no index entries: nothing of them may have been written.
    for (const [key, empty] of [[keys.data(segment.seq), segment.bytes === 0], [keys.index(segment.seq), segment.objects === 0]] as const) {
      const size = await store.size(key);
      if (size === undefined && empty) continue;
      if (size === undefined) throw new Error(`cartridge ${barcode}: segment object ${key}, which its manifest counts, is missing`);
      objects.push({ key, size });
    }
  }
  return objects;
}
