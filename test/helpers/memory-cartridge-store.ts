// Test stand-in for the cache engine under a cartridge: keys to byte arrays in
// memory, so the SCSI tests drive the real Cartridge without a cache directory
// or S3. `syncs` counts sync points; reads lend their data as the engine's
// readv() does, and `lent` counts the reads not yet released.
import { releaseOnce } from '../../src/buffers/release-once.ts';
import { crc32c } from '../../src/crc32c/crc32c.ts';
import type { CartridgeStore } from '../../src/tape/cartridge.ts';

export class MemoryCartridgeStore implements CartridgeStore {
  readonly objects = new Map<string, Buffer>();
  syncs = 0;
  lent = 0;

  async readv(key: string, offset: number, lengths: readonly number[]): Promise<{ data: Buffer; crcs: number[]; release: () => void }> {
    const data = await this.read(
      key,
      offset,
      lengths.reduce((a, b) => a + b, 0),
    );
    let at = 0;
    const crcs = lengths.map((l) => crc32c(data.subarray(at, (at += l))) >>> 0);
    this.lent++;
    return { data, crcs, release: releaseOnce(() => this.lent--) };
  }

  async write(key: string, offset: number, data: Uint8Array): Promise<void> {
    const old = this.objects.get(key) ?? Buffer.alloc(0);
    const next = Buffer.alloc(Math.max(old.length, offset + data.length));
    old.copy(next);
    next.set(data, offset);
    this.objects.set(key, next);
  }

  async writev(key: string, offset: number, pieces: readonly Uint8Array[]): Promise<number[]> {
    await this.write(key, offset, Buffer.concat(pieces));
    return pieces.map((piece) => crc32c(piece) >>> 0);
  }

  async read(key: string, offset: number, length: number): Promise<Buffer> {
    const object = this.objects.get(key);
    if (!object || offset + length > object.length) throw new Error(`read beyond ${key}`);
    return Buffer.from(object.subarray(offset, offset + length));
  }

  async size(key: string): Promise<number | undefined> {
    return this.objects.get(key)?.length;
  }

  async truncate(key: string, size: number): Promise<void> {
    const object = this.objects.get(key);
    if (object) this.objects.set(key, object.subarray(0, size));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }

  async sync(): Promise<void> {
    this.syncs++;
  }
}
