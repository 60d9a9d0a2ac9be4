// A cached volume: the bucket holds the volume, the cache engine its hot
// chunks. Writes land in the engine's cache (acknowledged there), SYNCHRONIZE
// CACHE and FUA make them durable on the cache disk, and the engine uploads
// them in the background. A volume restored from a snapshot is usable at
// once: its map names the snapshot's chunks, fetched on first read.
import type { BlockDevice, LentRead, ProvisioningExtent } from '../../scsi/sbc/block-device.ts';
import { ChunkImage } from './chunk-image.ts';
import { chunkPrefix, parseChunkKey } from './chunk-map.ts';
import type { VolumeRecord } from './volume-catalog.ts';
import { Volume, type VolumeContext, type VolumeState } from './volume.ts';

export class CachedVolume extends Volume implements BlockDevice {
  private verifying: Promise<void> | undefined;
  private verified = 0;
  private closed = false;

  private constructor(record: VolumeRecord, context: VolumeContext, image: ChunkImage) {
    super(record, context, image);
  }

  /** Opens a cached volume from its record; a restore's check of the bucket resumes. */
  static async open(record: VolumeRecord, context: VolumeContext): Promise<{ volume: CachedVolume; garbage: string[] }> {
    let volume!: CachedVolume;
    const holder = { id: record.id, chunkSize: record.chunkSize, reserveGenerations: (c: number) => volume.reserveGenerations(c) };
    const { image, garbage } = await ChunkImage.open(context.store, context.catalog, holder, record);
    volume = new CachedVolume(record, context, image);
    volume.resume();
    return { volume, garbage };
  }

  state(): VolumeState {
    const r = this.record;
    if (r.deleting) return { status: 'DELETING' };
    if (r.irrecoverable) return { status: 'IRRECOVERABLE', error: r.irrecoverable };
    if (r.pass?.kind === 'verify')
      return {
        status: 'RESTORING',
        progress: this.image.map.mapped === 0 ? 0 : Math.min(99, (100 * this.verified) / this.image.map.mapped),
      };
    return { status: 'AVAILABLE' };
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.readImage(offset, length).then(({ data }) => data);
  }

  readLent(offset: number, length: number): Promise<LentRead> {
    return this.readImage(offset, length);
  }

  write(offset: number, data: Buffer, options?: { fua?: boolean }): Promise<void> {
    return this.gate.run(() => {
      const parts = this.pieces(offset, data.length);
      const [only] = parts;
      // The common case without an async function's promises: a write within one chunk, no FUA.
      if (only && parts.length === 1 && !options?.fua) return this.image.write(only.index, only.at, data);
      return this.writeParts(parts, data, options?.fua === true);
    });
  }

  private async writeParts(parts: ReturnType<Volume['pieces']>, data: Buffer, fua: boolean): Promise<void> {
    await Promise.all(parts.map((p) => this.image.write(p.index, p.at, data.subarray(p.from, p.from + p.length))));
    if (fua) await this.image.sync();
  }

  flush(): Promise<void> {
    return this.image.sync();
  }

  discard(offset: number, length: number): Promise<void> {
    return this.gate.run(async () => {
      for (const p of this.pieces(offset, length)) {
        if (p.length === this.chunkSize) await this.image.unmap(p.index);
        // Part of a chunk: zeros, unless the chunk holds nothing anyway.
        else if (this.image.map.get(p.index)) await this.image.write(p.index, p.at, Buffer.alloc(p.length));
      }
    });
  }

  provisioning(offset: number, maxLength: number): Promise<ProvisioningExtent[]> {
    return this.imageProvisioning(
      offset,
      maxLength,
      (index) => this.image.map.get(index) !== undefined,
      (at, length) => this.read(at, length),
    );
  }

  async prefetch(offset: number, length: number): Promise<void> {
    (await this.readImage(offset, length)).release();
  }

  /**
   * A volume restored from a snapshot is RESTORING until every chunk it names
   * is known to be in the bucket (one listing per volume that wrote them):
   * then a read can never find a chunk missing. A chunk that is missing makes
   * it IRRECOVERABLE, with the chunk named.
   */
  private resume(): void {
    if (this.record.pass?.kind !== 'verify') return;
    this.verifying = this.verify().catch((err: unknown) => {
      if (!this.closed)
        this.log.error({ err }, 'checking the restored volume against the bucket failed; it stays RESTORING until the next start');
    });
  }

  private async verify(): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const [index, ref] of this.image.map.entries()) {
      let keys = wanted.get(ref.volume);
      if (!keys) wanted.set(ref.volume, (keys = new Set()));
      keys.add(`${index}:${ref.gen}`);
    }
    for (const [origin, keys] of wanted) {
      for await (const entry of this.context.store.list(chunkPrefix(origin))) {
        if (this.closed) return;
        if (entry.kind !== 'extent') continue;
        const parsed = parseChunkKey(entry.key);
        if (parsed && keys.delete(`${parsed.index}:${parsed.ref.gen}`)) this.verified++;
      }
      const missing = [...keys][0];
      if (missing) {
        const [index] = missing.split(':');
        await this.update(
          { irrecoverable: `chunk ${index} (written by volume ${origin}) is missing from the bucket`, pass: undefined },
          true,
        );
        this.log.error({ missing: keys.size }, 'a restored volume names chunks the bucket does not hold: IRRECOVERABLE');
        return;
      }
    }
    await this.update({ pass: undefined }, true);
    this.log.info({ chunks: this.verified }, 'restored volume checked against the bucket: AVAILABLE');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.verifying;
    await this.image.sync();
  }
}
