// The vault shelf (ShelfService): records exports, runs each cartridge's job
// (archival, retrieval or a cancel) one step at a time from its shelf record,
// and resumes every unfinished job when the gateway starts.
import { setTimeout as sleep } from 'node:timers/promises';
import { ElementType } from '../../scsi/smc/media-library.ts';
import type { Logger } from '../log.ts';
import { checkDeletable, retentionUntil } from '../tape/pools.ts';
import { TapeServiceError, type DeleteTapeOptions, type ElementKind } from '../tape/tape-service.ts';
import { archiveStep } from './archiver.ts';
import { cancelStep } from './cancel.ts';
import { retrieveStep } from './retriever.ts';
import type { ShelfEntry } from './shelf-catalog.ts';
import {
  ShelfServiceError,
  type RetrievalTier,
  type RetrieveTapeRequest,
  type ShelfService,
  type ShelfStatus,
  type ShelfTapeInfo,
} from './shelf-service.ts';
import { destinationName } from './destination.ts';
import { abortable, destinationOf, IrrecoverableError, type ShelfParts, type Step } from './step.ts';

export interface ShelfOptions extends ShelfParts {
  /** Tier of a retrieval that names none. */
  readonly defaultTier: RetrievalTier;
  readonly logger: Logger;
  /** The clock retention locks are judged by. */
  readonly now?: () => Date;
  /** Wait before retrying a failed step: doubles from the first value up to the second (default 1 s, 5 min). */
  readonly retryDelayMs?: readonly [number, number];
}

const TIERS: readonly RetrievalTier[] = ['Expedited', 'Standard', 'Bulk'];
const CANCEL_WAIT_MS = 30_000;
const SETTLED: ReadonlySet<ShelfStatus> = new Set(['ARCHIVED', 'RETRIEVED', 'IRRECOVERABLE']);

interface Job {
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

export class Shelf implements ShelfService {
  private readonly jobs = new Map<string, Job>();
  private readonly exports = new Map<string, Promise<void>>();
  /** Progress of each running job within the status it was measured in: it never goes back while the status stays. */
  private readonly progress = new Map<string, { readonly status: ShelfStatus; readonly percent: number }>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private closed = false;

  private constructor(private readonly options: ShelfOptions) {
    this.log = options.logger.child({ component: 'shelf' });
    this.now = options.now ?? (() => new Date());
  }

  /** Starts listening for exports and resumes the jobs a previous run left. */
  static async open(options: ShelfOptions): Promise<Shelf> {
    const shelf = new Shelf(options);
    options.library.onExported((barcode) => void shelf.exported(barcode).catch(() => undefined));
    for (const entry of await options.shelf.all()) {
      if (entry.cancel || !SETTLED.has(entry.status)) void shelf.run(entry.barcode);
    }
    // Moved to an import/export slot just before a crash, before the move was recorded as an export.
    for (const element of options.library.elements()) {
      if (element.type === ElementType.ImportExport && element.barcode && !element.importedByOperator)
        void shelf.exported(element.barcode).catch(() => undefined);
    }
    return shelf;
  }

  async archiveTape(barcode: string): Promise<ShelfTapeInfo> {
    const { library, tapes, shelf } = this.options;
    const existing = await shelf.get(barcode);
    if (existing && existing.status !== 'RETRIEVED')
      throw new ShelfServiceError('TAPE_NOT_FOUND', `cartridge ${barcode} is already on the shelf (${existing.status})`);
    const record = await tapes.get(barcode);
    const location = library.locate(barcode);
    if (!record || record.deletedAt || !location)
      throw new ShelfServiceError('TAPE_NOT_FOUND', `there is no cartridge ${barcode} in the library: list them with "tapegw tape list"`);
    if (!existing) await this.vaultOf(record.pool);
    if (location.kind !== 'import-export') {
      const index = this.free('import-export');
      if (index === undefined)
        throw new ShelfServiceError(
          'NO_FREE_SLOT',
          `every import/export slot is full: move a cartridge out of one, then archive ${barcode} again`,
        );
      await library.move(barcode, { kind: 'import-export', index });
    }
    await this.exported(barcode);
    return this.describeShelfTape(barcode);
  }

  async cancelArchival(barcode: string): Promise<void> {
    const entry = await this.entry(barcode);
    if ((entry.status !== 'IN_TRANSIT_TO_VTS' && entry.status !== 'ARCHIVING') || entry.archive) {
      const why = entry.archive ? 'its archive is already stored' : `it is ${entry.status}`;
      throw new ShelfServiceError(
        'NOT_ARCHIVING',
        `cannot cancel the archival of ${barcode}: ${why}; retrieve it instead to bring it back`,
      );
    }
    if (!this.options.library.locate(barcode) && this.free('slot') === undefined) {
      throw new ShelfServiceError(
        'NO_FREE_SLOT',
        `every storage slot is full, and cartridge ${barcode} needs one to come back: free a slot, then cancel again`,
      );
    }
    await this.cancel(barcode, 'archival');
  }

  async retrieveTape(request: RetrieveTapeRequest): Promise<ShelfTapeInfo> {
    const { barcode } = request;
    const tier = request.tier ?? this.options.defaultTier;
    if (!TIERS.includes(tier))
      throw new ShelfServiceError(
        'INVALID_TIER',
        `retrieval tier ${JSON.stringify(tier)} is not one of ${TIERS.join(', ')}: e.g. "Standard"`,
      );
    const entry = await this.entry(barcode);
    if (entry.status !== 'ARCHIVED') {
      const hint =
        entry.status === 'RETRIEVED'
          ? 'it is already retrieved, in the library'
          : entry.status === 'IRRECOVERABLE'
            ? 'its archive cannot be read back'
            : 'wait until it is ARCHIVED';
      throw new ShelfServiceError('NOT_ARCHIVED', `cannot retrieve ${barcode}, which is ${entry.status}: ${hint}`);
    }
    if (this.free('import-export') === undefined) {
      throw new ShelfServiceError(
        'NO_FREE_SLOT',
        `every import/export slot is full, and a retrieved cartridge arrives in one: move a cartridge out of one, then retrieve ${barcode} again`,
      );
    }
    await this.options.shelf.put({ ...entry, status: 'RETRIEVING', retrieval: { tier }, error: undefined });
    void this.run(barcode);
    return this.describeShelfTape(barcode);
  }

  async cancelRetrieval(barcode: string): Promise<ShelfTapeInfo> {
    const entry = await this.entry(barcode);
    if (entry.status !== 'RETRIEVING')
      throw new ShelfServiceError(
        'NOT_RETRIEVING',
        `cartridge ${barcode} is ${entry.status}, not RETRIEVING: there is no retrieval to cancel`,
      );
    await this.cancel(barcode, 'retrieval');
    return this.describeShelfTape(barcode);
  }

  async listShelf(): Promise<ShelfTapeInfo[]> {
    return Promise.all((await this.options.shelf.all()).map((entry) => this.info(entry)));
  }

  async describeShelfTape(barcode: string): Promise<ShelfTapeInfo> {
    return this.info(await this.entry(barcode));
  }

  async deleteArchive(barcode: string, options: DeleteTapeOptions = {}): Promise<void> {
    const { shelf, tapes, pools } = this.options;
    const entry = await this.entry(barcode);
    if (entry.status !== 'ARCHIVED' && entry.status !== 'IRRECOVERABLE') {
      const hint =
        entry.status === 'RETRIEVED'
          ? 'move it to an import/export slot to return it to the shelf first'
          : 'cancel that first, or wait until it is ARCHIVED';
      throw new ShelfServiceError('NOT_ARCHIVED', `cannot delete the archive of ${barcode}, which is ${entry.status}: ${hint}`);
    }
    const record = await tapes.get(barcode);
    const pool = await pools.get(entry.pool);
    if (record && pool) checkDeletable(record, pool, options, this.now());
    // An archive deleted already, before a restart cut this short, counts as deleted.
    if (entry.archive) await destinationOf(this.options, entry.archive.vault).delete(entry.archive.archiveId);
    await shelf.delete(barcode);
    if (record) await tapes.put({ ...record, deletedAt: this.now().toISOString() });
  }

  /** Stops every job where it stands (each resumes at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.exports.values());
    await Promise.all([...this.jobs.keys()].map((barcode) => this.stop(barcode)));
  }

  /** A cartridge was moved into an import/export slot: it goes on the shelf (IN_TRANSIT_TO_VTS). */
  private exported(barcode: string): Promise<void> {
    let pending = this.exports.get(barcode);
    if (!pending) {
      pending = this.recordExport(barcode).finally(() => this.exports.delete(barcode));
      pending.catch((err: unknown) =>
        this.log.error(
          { err, barcode },
          `cartridge ${barcode} was exported but cannot go to the shelf; it stays in its import/export slot`,
        ),
      );
      this.exports.set(barcode, pending);
    }
    return pending;
  }

  private async recordExport(barcode: string): Promise<void> {
    const { shelf, tapes } = this.options;
    const entry = await shelf.get(barcode);
    if (entry && entry.status !== 'RETRIEVED') return;
    const record = await tapes.get(barcode);
    if (!record || record.deletedAt) throw new Error(`the tape catalog has no cartridge ${barcode}`);
    const vault = entry?.vault ?? (await this.vaultOf(record.pool));
    // A retrieved cartridge keeps its archive: only what was restored goes.
    await shelf.put({
      barcode,
      status: 'IN_TRANSIT_TO_VTS',
      pool: record.pool,
      vault,
      ...(entry?.archive ? { archive: entry.archive } : {}),
    });
    this.log.info({ barcode, pool: record.pool, vault }, 'cartridge exported to the shelf');
    void this.run(barcode);
  }

  private async vaultOf(poolName: string): Promise<string> {
    const pool = await this.options.pools.require(poolName);
    if (pool.destination.kind === 'storage-class' && !this.options.archiveBucket) {
      throw new TapeServiceError(
        'INVALID_POOL',
        `pool ${poolName} archives to the S3 storage class ${pool.destination.storageClass}, and this shelf has no bucket: put the cartridge in a pool with a Glacier vault`,
      );
    }
    return destinationName(pool.destination);
  }

  /** Records the cancel and waits a while for the job to carry it out; if it cannot yet, it keeps trying. */
  private async cancel(barcode: string, what: 'archival' | 'retrieval'): Promise<void> {
    await this.stop(barcode);
    const entry = await this.entry(barcode);
    await this.options.shelf.put({ ...entry, cancel: what });
    const wait = new AbortController();
    await Promise.race([this.run(barcode), sleep(CANCEL_WAIT_MS, undefined, { signal: wait.signal }).catch(() => undefined)]);
    wait.abort();
  }

  /** Runs a cartridge's job until it settles or is stopped; one job per cartridge. */
  private run(barcode: string): Promise<void> {
    const running = this.jobs.get(barcode);
    if (running) return running.done;
    if (this.closed) return Promise.resolve();
    const stop = new AbortController();
    const done = this.steps(barcode, stop.signal)
      .catch((err: unknown) => this.log.error({ err, barcode }, 'shelf job stopped on an error; it resumes at the next start'))
      .finally(() => {
        this.jobs.delete(barcode);
        this.progress.delete(barcode);
      });
    this.jobs.set(barcode, { stop, done });
    return done;
  }

  private async stop(barcode: string): Promise<void> {
    const job = this.jobs.get(barcode);
    if (!job) return;
    job.stop.abort(new Error('shelf job stopped'));
    await job.done;
  }

  private async steps(barcode: string, signal: AbortSignal): Promise<void> {
    const { shelf } = this.options;
    const [firstDelay, maxDelay] = this.options.retryDelayMs ?? [1_000, 300_000];
    let failures = 0;
    while (!signal.aborted) {
      const entry = await shelf.get(barcode);
      if (!entry || (!entry.cancel && SETTLED.has(entry.status))) return;
      const step = this.step(barcode, entry.status, signal);
      try {
        const run = entry.cancel ? cancelStep : entry.status === 'RETRIEVING' ? retrieveStep : archiveStep;
        // A stopped job does not wait for a cloud call to give up: the step's next save refuses instead.
        await abortable(run(step, entry), signal);
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        const latest = (await shelf.get(barcode)) ?? entry;
        if (error instanceof IrrecoverableError) {
          await this.irrecoverable(latest, error.message);
          continue;
        }
        failures++;
        const message = (error as Error).message ?? String(error);
        this.log.warn({ err: error, barcode, status: latest.status, failures }, `shelf step failed, retrying: ${message}`);
        await shelf.put({ ...latest, error: message });
        await sleep(Math.min(maxDelay, firstDelay * 2 ** (failures - 1)), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** `status`: the entry's as the step begins. A save within the same status keeps the progress made (an upload's last records come after its last byte). */
  private step(barcode: string, status: ShelfStatus, signal: AbortSignal): Step {
    return {
      parts: this.options,
      signal,
      log: this.log.child({ barcode }),
      save: async (entry) => {
        signal.throwIfAborted();
        await this.options.shelf.put(entry);
        if (this.progress.get(barcode)?.status !== entry.status) this.progress.delete(barcode);
        return entry;
      },
      progress: (percent) => {
        const before = this.progress.get(barcode);
        const kept = before?.status === status ? before.percent : 0;
        this.progress.set(barcode, { status, percent: Math.min(100, Math.max(kept, percent)) });
      },
    };
  }

  /** What was restored is dropped, never served. */
  private async irrecoverable(entry: ShelfEntry, reason: string): Promise<void> {
    this.log.error({ barcode: entry.barcode, reason }, `cartridge ${entry.barcode} is IRRECOVERABLE`);
    await this.options.tapeStore.deleteMany((entry.archive?.toc ?? []).map(({ key }) => key));
    await this.options.shelf.put({ ...entry, status: 'IRRECOVERABLE', retrieval: undefined, error: reason });
  }

  private async entry(barcode: string): Promise<ShelfEntry> {
    const entry = await this.options.shelf.get(barcode);
    if (!entry)
      throw new ShelfServiceError('TAPE_NOT_FOUND', `there is no cartridge ${barcode} on the shelf: list it with "tapegw shelf list"`);
    return entry;
  }

  private async info(entry: ShelfEntry): Promise<ShelfTapeInfo> {
    const record = await this.options.tapes.get(entry.barcode);
    const pool = await this.options.pools.get(entry.pool);
    const until = record && pool ? retentionUntil(record, pool) : undefined;
    const location = entry.status === 'RETRIEVED' ? this.options.library.locate(entry.barcode) : undefined;
    const moving = !SETTLED.has(entry.status);
    return {
      barcode: entry.barcode,
      status: entry.status,
      pool: entry.pool,
      sizeBytes: record?.sizeBytes ?? 0,
      usedBytes: record?.usedBytes ?? 0,
      worm: record?.worm ?? false,
      createdAt: record?.createdAt ?? '',
      ...(moving ? { progress: this.progressOf(entry) } : {}),
      ...(entry.archive ? { archivedAt: entry.archive.archivedAt, archiveBytes: entry.archive.size } : {}),
      ...(entry.status === 'RETRIEVED' && entry.retrievedAt ? { retrievedAt: entry.retrievedAt } : {}),
      ...(location ? { location } : {}),
      ...(until ? { retentionUntil: until.toISOString() } : {}),
      ...(entry.error ? { error: entry.error } : {}),
    };
  }

  private progressOf(entry: ShelfEntry): number {
    const measured = this.progress.get(entry.barcode);
    return measured?.status === entry.status ? measured.percent : 0;
  }

  /** The first empty element of a kind (1-based), if any. */
  private free(kind: ElementKind): number | undefined {
    const { library } = this.options;
    const layout = library.layout();
    const count = kind === 'slot' ? layout.storage.count : layout.importExport.count;
    const taken = new Set(
      library
        .contents()
        .filter((c) => c.location.kind === kind)
        .map((c) => c.location.index),
    );
    for (let index = 1; index <= count; index++) if (!taken.has(index)) return index;
    return undefined;
  }
}
