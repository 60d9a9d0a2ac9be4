// What every step of a shelf job works with, and how a step records its outcome.
import type { ExtentStore } from '../cache/extent-store.ts';
import type { ArchiveBucket } from '../cloud/archive-bucket.ts';
import type { EncryptionKeys } from '../cloud/encryption-keys.ts';
import type { Vault } from '../cloud/vault.ts';
import type { Logger } from '../log.ts';
import type { Library } from '../tape/library.ts';
import type { LoadedMedium } from '../tape/library-bay.ts';
import type { PoolCatalog } from '../tape/pools.ts';
import type { TapeCatalog } from '../tape/tape-catalog.ts';
import { isStorageClassDestination, storageClassDestination, vaultDestination, type ArchiveDestination } from './destination.ts';
import type { ShelfCatalog, ShelfEntry } from './shelf-catalog.ts';

export interface ShelfParts {
  readonly shelf: ShelfCatalog;
  readonly tapes: TapeCatalog;
  readonly pools: PoolCatalog;
  readonly library: Library<LoadedMedium>;
  /** The engine's store of cartridge objects (the tapes namespace). */
  readonly tapeStore: ExtentStore;
  /** The client of a vault by name. */
  vault(name: string): Vault;
  /** The gateway's bucket, for pools whose destination is an S3 storage class; absent: such pools are refused. */
  readonly archiveBucket?: ArchiveBucket;
  /** Client-side encryption: archives are sealed under the current key (sealed-stream.ts); absent: stored as they are. */
  readonly encryption?: EncryptionKeys;
}

/** The destination an entry recorded (`vault`, `archive.vault`): see destination.ts. */
export function destinationOf(parts: ShelfParts, name: string): ArchiveDestination {
  if (!isStorageClassDestination(name)) return vaultDestination(parts.vault(name));
  if (!parts.archiveBucket) throw new Error(`archive destination ${name} is an S3 storage class, and this shelf has no bucket for it`);
  const storageClass = name.slice(name.indexOf(':') + 1);
  if (storageClass !== 'GLACIER' && storageClass !== 'DEEP_ARCHIVE')
    throw new Error(`archive destination ${name} names no storage class the shelf archives to`);
  return storageClassDestination(parts.archiveBucket, storageClass);
}

/** One run of one step for one cartridge. */
export interface Step {
  readonly parts: ShelfParts;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Writes the entry's next state, unless the job was stopped meanwhile (then it throws). */
  save(entry: ShelfEntry): Promise<ShelfEntry>;
  /** Progress of the running step, 0-100, kept in memory (a resumed step starts over). */
  progress(percent: number): void;
}

/** The archive cannot be read back whole: the cartridge becomes IRRECOVERABLE. */
export class IrrecoverableError extends Error {
  override readonly name = 'IrrecoverableError';
}

/** Bytes and seconds of a transfer, with its rate, for the log. */
export function rate(bytes: number, startedMs: number): { bytes: number; seconds: number; MBps: number } {
  const seconds = (performance.now() - startedMs) / 1000;
  return { bytes, seconds: Number(seconds.toFixed(3)), MBps: Number((bytes / 1e6 / Math.max(seconds, 1e-3)).toFixed(1)) };
}

/** Waits for `work`, or throws as soon as the job is stopped (the work itself carries on harmlessly). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}
