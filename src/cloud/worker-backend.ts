// An ObjectBackend whose requests run in a worker thread: the AWS SDK, its
// HTTP, its sockets and the CRC32C checks of what GETs bring (an ObjectStore in
// object-store-worker.ts) leave the engine's thread, which keeps the iSCSI
// and NFS data paths. Each request costs this thread a message and its answer.
//
// An upload's bytes are read here, by its PutSource, into a slot of memory the
// two threads share, a piece (1 MiB) at a time as the request sends them, and
// copied out of the slot by the worker. The source is read here because what it
// is lives here: a snapshot of an extent checked block by block against the
// CRCs of its moment (and throwing the cache's SnapshotChangedError, which the
// upload queue acts on), the upload queue's yielding to reads and writes, the
// encrypting backend's sealing, the bandwidth limiter's pacing (by `pace` calls).
// Handing the worker the extent's file, offset and CRCs instead would spare
// this thread the read's completion and the CRC pass, about 0.1 ms per MiB
// (1 MiB read into a shared slot and its four CRCs checked, 256 MiB timed by
// the thread's /proc figures), against 0.39 ms/MiB this thread spends on a
// drain with the worker and 0.86 without it (`npm run bench:engine`, same run).
// That quarter would be bought by copying into the worker each of the above
// (the snapshot's check and its error, the yield, the sealing), and by the
// cloud layer reaching into the cache's files: not worth it while the
// messages of a piece (a read and a pace, each a round trip: about 0.1 ms)
// cost as much again.
//
// A GET's body comes back by transfer: the worker's pooled buffer itself, no
// copy; release() sends its memory back for the next GET.
import { Worker } from 'node:worker_threads';
import { workerBootstrap } from '../package-files.ts';
import {
  SLOT_BYTES,
  fromWire,
  type Answer,
  type Call,
  type FromWorker,
  type Request,
  type ToWorker,
  type WireFailures,
  type WireGot,
  type WirePage,
  type WorkerSetup,
} from './worker-protocol.ts';
import type {
  BackendHooks,
  GetOptions,
  GotObject,
  ObjectBackend,
  ObjectInfo,
  ObjectMetadata,
  PutOptions,
  PutSource,
} from './object-backend.ts';
import { idleTimeoutOf, storeLocation, type S3Settings } from './object-store.ts';

/** Pieces being read at once: one per request body in flight (4 uploads of 4 parts each by default), more wait. */
const SLOTS = 16;

const bootstrap = workerBootstrap(import.meta.url, 'object-store-worker');

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export class WorkerBackend implements ObjectBackend {
  readonly location: string;
  readonly idleTimeoutMs: number;
  private readonly worker: Worker;
  private readonly slots = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  private readonly pending = new Map<number, Pending>();
  /** Uploads in flight by request id, with the first error their source threw. */
  private readonly sources = new Map<number, { source: PutSource; failure?: unknown }>();
  private nextId = 0;
  private nextListing = 0;
  /** Why no request can be made any more: closed, or the worker died. */
  private stopped: Error | undefined;
  private readonly online: Promise<void>;

  constructor(
    settings: S3Settings,
    private readonly hooks: BackendHooks = {},
  ) {
    this.location = storeLocation(settings);
    this.idleTimeoutMs = idleTimeoutOf(settings);
    const workerData: WorkerSetup = { settings, slots: this.slots, paced: hooks.shaper !== undefined };
    // The AWS SDK's notice that it will need a newer Node is the process's to print, once, from the thread that made
    // its first client; a worker would repeat it.
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    this.worker = new Worker(bootstrap, { eval: true, workerData, env, name: 'object store' });
    // Idle, the worker does not keep the process alive; a request in flight does.
    this.worker.unref();
    this.worker.on('message', (message: FromWorker) => this.received(message));
    this.worker.on('error', (error) => this.stop(new Error(`the object store's worker thread failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', (code) => this.stop(new Error(`the object store's worker thread exited (code ${code})`)));
    this.online = new Promise((resolve) => this.worker.once('message', () => resolve()));
    this.online.catch(() => undefined);
  }

  /**
   * Resolves once the worker has loaded the SDK and can take requests (they may
   * be made before: they wait). Loading takes about a quarter of a second of
   * CPU: seconds on a busy machine.
   */
  ready(): Promise<void> {
    const exited = new Promise<void>((_, reject) =>
      this.worker.once('exit', () => reject(this.stopped ?? new Error("the object store's worker thread exited"))),
    );
    return Promise.race([this.online, exited]);
  }

  close(): void {
    this.stop(new Error(`the object store at ${this.location} is closed`));
    void this.worker.terminate();
  }

  async put(key: string, body: Buffer | PutSource, options: PutOptions = {}): Promise<void> {
    const metadata = options.metadata ? { metadata: options.metadata } : {};
    if (Buffer.isBuffer(body)) {
      // A copy of the bytes alone (cloning the buffer would copy all the memory it is a view of), then moved.
      const bytes = new Uint8Array(body);
      await this.request((id) => ({ id, op: 'put', key, body: { bytes }, ...metadata }), [bytes.buffer]);
      return;
    }
    const upload: { source: PutSource; failure?: unknown } = { source: body };
    let put = -1;
    try {
      await this.request((id) => {
        this.sources.set((put = id), upload);
        return { id, op: 'put', key, body: { size: body.size, checksums: body.checksums }, ...metadata };
      });
    } catch (error) {
      // The source's own error (a changed snapshot, a read error) rather than the worker's word for it.
      throw upload.failure ?? error;
    } finally {
      this.sources.delete(put);
    }
  }

  async get(key: string, range?: { offset: number; length: number }, options?: GetOptions): Promise<GotObject> {
    const got = (await this.request((id) => ({
      id,
      op: 'get',
      key,
      ...(range ? { range } : {}),
      ...(options ? { options } : {}),
    }))) as WireGot;
    const data = Buffer.from(got.memory, got.offset, got.length);
    if (!got.lent) return { data, size: got.size };
    let given = false;
    const release = () => {
      if (given || this.stopped) return;
      given = true;
      this.post({ op: 'giveBack', memory: got.memory }, [got.memory]);
    };
    return { data, size: got.size, release };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.request((id) => ({ id, op: 'head', key }))) as ObjectInfo | undefined;
  }

  async *list(prefix = '', options: { delimiter?: string; startAfter?: string } = {}): AsyncGenerator<ObjectInfo> {
    const listing = this.nextListing++;
    let done = false;
    try {
      while (!done) {
        const page = (await this.request((id) => ({ id, op: 'list', listing, prefix, options }))) as WirePage;
        done = page.done;
        yield* page.entries;
      }
    } finally {
      if (!done && !this.stopped) this.post({ op: 'endList', listing });
    }
  }

  async delete(key: string): Promise<void> {
    await this.request((id) => ({ id, op: 'delete', key }));
  }

  async deleteMany(keys: readonly string[]): Promise<Map<string, Error>> {
    const failed = (await this.request((id) => ({ id, op: 'deleteMany', keys }))) as WireFailures;
    return new Map(failed.map(([key, error]) => [key, fromWire(error)]));
  }

  async copy(fromKey: string, toKey: string, options: { metadata?: ObjectMetadata } = {}): Promise<void> {
    await this.request((id) => ({ id, op: 'copy', fromKey, toKey, ...(options.metadata ? { metadata: options.metadata } : {}) }));
  }

  private request(make: (id: number) => Request, transfer?: ArrayBuffer[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.post(make(id), transfer);
    });
  }

  private post(message: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(message, transfer);
  }

  private received(message: FromWorker): void {
    if ('event' in message) {
      if (message.event === 'ready') return;
      const observer = this.hooks.observer;
      if (message.event === 'retried') observer?.retried?.(message.cause, message.operation);
      else if (message.event === 'uploaded') observer?.uploaded?.(message.bytes);
      else observer?.downloaded?.(message.bytes);
      return;
    }
    if ('call' in message) {
      void (message.call === 'read' ? this.read(message) : this.pace(message));
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.ok) pending.resolve(message.value);
    else pending.reject(fromWire(message.error));
  }

  /** Reads a piece of an upload's source into the slot the worker named. */
  private async read(call: Extract<Call, { call: 'read' }>): Promise<void> {
    const upload = this.sources.get(call.put);
    const slot = Buffer.from(this.slots, call.slot * SLOT_BYTES, call.length);
    let read: 'done' | 'failed' = 'failed';
    try {
      if (!upload) throw new Error(`no upload ${call.put} in flight`);
      const data = await upload.source.read(call.offset, call.length, slot);
      if (data.length !== call.length)
        throw new Error(`upload source gave ${data.length} bytes at ${call.offset}, expected ${call.length}`);
      if (data.buffer !== this.slots || data.byteOffset !== slot.byteOffset) data.copy(slot);
      read = 'done';
    } catch (error) {
      if (upload) upload.failure ??= error;
    }
    this.answer({ ref: call.ref, read });
  }

  /** Passes on the limiter's grants for a piece. */
  private async pace(call: Extract<Call, { call: 'pace' }>): Promise<void> {
    const shaper = this.hooks.shaper;
    if (shaper) for await (const grant of shaper.pace(call.length)) this.answer({ ref: call.ref, grant });
    else this.answer({ ref: call.ref, grant: call.length });
    this.answer({ ref: call.ref, paced: true });
  }

  private answer(answer: Answer): void {
    if (!this.stopped) this.post(answer);
  }

  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    for (const pending of this.pending.values()) pending.reject(reason);
    this.pending.clear();
  }
}
