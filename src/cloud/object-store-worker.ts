// The worker thread of WorkerBackend (worker-backend.ts): an ObjectStore, and
// so the AWS SDK, its HTTP and its sockets, run here, answering the engine's
// thread by message (worker-protocol.ts). An upload's bytes are read by the
// engine's thread into shared slots, a piece at a time as the request sends
// them; a GET's body goes back by transfer, and its memory comes back here when
// the engine is done with it.
import { parentPort, workerData } from 'node:worker_threads';
import { BufferPool } from '../buffers/buffer-pool.ts';
import type { ObjectInfo, PutSource, UploadShaper } from './object-backend.ts';
import { ObjectStore } from './object-store.ts';
import {
  SLOT_BYTES,
  toWire,
  type Answer,
  type Call,
  type FromWorker,
  type Request,
  type ToWorker,
  type WireGot,
  type WirePage,
  type WorkerSetup,
} from './worker-protocol.ts';

/** Entries of a listing sent in one message. */
const PAGE = 1000;
/** How often bytes downloaded are told when no reply carries them sooner. */
const TELL_DOWNLOADED_MS = 250;

/** The engine's read of an upload's piece failed: the put fails, and the engine's thread holds the error it throws. */
class SourceFailed extends Error {
  override readonly name = 'SourceFailed';
}

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

let downloaded = 0;
let downloadTimer: NodeJS.Timeout | undefined;
const buffers = new BufferPool();
const shaper: UploadShaper | undefined = setup.paced ? { pace: (length) => calls.pace(length) } : undefined;
const store = new ObjectStore(
  setup.settings,
  {
    observer: {
      uploaded: (bytes) => send({ event: 'uploaded', bytes }),
      retried: (cause, operation) => send({ event: 'retried', cause, operation }),
      // A GET's body comes in chunks of 16-64 KiB: counted here, told in sums.
      downloaded: (bytes) => {
        downloaded += bytes;
        downloadTimer ??= setTimeout(tellDownloaded, TELL_DOWNLOADED_MS);
      },
    },
    ...(shaper ? { shaper } : {}),
  },
  buffers,
);

/** Told before each reply too, so that a GET's bytes are counted when it resolves. */
function tellDownloaded(): void {
  clearTimeout(downloadTimer);
  downloadTimer = undefined;
  if (downloaded > 0) send({ event: 'downloaded', bytes: downloaded });
  downloaded = 0;
}

/** Calls to the engine's thread, by ref. */
const calls = new (class {
  private next = 0;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private readonly free = Array.from({ length: setup.slots.byteLength / SLOT_BYTES }, (_, i) => i);
  private readonly slotWaiters: ((slot: number) => void)[] = [];

  answered(answer: Answer): void {
    this.waiting.get(answer.ref)?.(answer);
  }

  /** Bytes of the put `put`'s source, read by the engine's thread into a slot and copied into `into` here. */
  async read(put: number, offset: number, length: number, into: Buffer): Promise<Buffer> {
    const slot = this.free.pop() ?? (await new Promise<number>((resolve) => this.slotWaiters.push(resolve)));
    try {
      const ref = this.next++;
      const answer = await new Promise<Answer>((resolve) => {
        this.waiting.set(ref, resolve);
        send({ call: 'read', ref, put, offset, length, slot } satisfies Call);
      });
      this.waiting.delete(ref);
      if (!('read' in answer) || answer.read !== 'done') throw new SourceFailed(`the source of upload ${put} failed at ${offset}`);
      // Out of the slot at once, into the store's own buffer: the request keeps a piece until two
      // more are read (object-store.ts, BODY_RING), and a slot held that long would need as many
      // slots as pieces in flight. A copy on this thread, not the engine's; a transfer of the
      // memory instead would cost the engine's thread an allocation or a pool per piece.
      const data = into.subarray(0, length);
      data.set(new Uint8Array(setup.slots, slot * SLOT_BYTES, length));
      return data;
    } finally {
      const waiter = this.slotWaiters.shift();
      if (waiter) waiter(slot);
      else this.free.push(slot);
    }
  }

  /** The engine's limiter's grants for a piece of `length` bytes, as they come. */
  async *pace(length: number): AsyncGenerator<number> {
    const ref = this.next++;
    const grants: number[] = [];
    let done = false;
    let wake: (() => void) | undefined;
    this.waiting.set(ref, (answer) => {
      if ('grant' in answer) grants.push(answer.grant);
      else done = true;
      wake?.();
    });
    try {
      send({ call: 'pace', ref, length } satisfies Call);
      for (;;) {
        const grant = grants.shift();
        if (grant !== undefined) yield grant;
        else if (done) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.waiting.delete(ref);
    }
  }
})();

/** Listings in progress, by the number the engine's thread gave them. */
const listings = new Map<number, AsyncIterator<ObjectInfo>>();

async function nextPage(listing: number, prefix: string, options: { delimiter?: string; startAfter?: string }): Promise<WirePage> {
  let entries = listings.get(listing);
  if (!entries) listings.set(listing, (entries = store.list(prefix, options)[Symbol.asyncIterator]()));
  const page: ObjectInfo[] = [];
  try {
    while (page.length < PAGE) {
      const next = await entries.next();
      if (next.done) {
        listings.delete(listing);
        return { entries: page, done: true };
      }
      page.push(next.value);
    }
  } catch (error) {
    listings.delete(listing);
    throw error;
  }
  return { entries: page, done: false };
}

async function run(request: Request): Promise<{ value?: unknown; transfer?: ArrayBuffer[] }> {
  switch (request.op) {
    case 'put': {
      const { body } = request;
      const source: Buffer | PutSource =
        'bytes' in body
          ? Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength)
          : { size: body.size, checksums: body.checksums, read: (offset, length, into) => calls.read(request.id, offset, length, into) };
      await store.put(request.key, source, request.metadata ? { metadata: request.metadata } : {});
      return {};
    }
    case 'get': {
      const got = await store.get(request.key, request.range, request.options);
      const memory = got.data.buffer;
      // Pooled memory, or any of a buffer's own, goes whole by transfer; a small buffer may
      // share its memory with others (Node's 8 KiB pool), so a copy goes instead.
      const lent = memory instanceof ArrayBuffer && memory.byteLength > Buffer.poolSize;
      const value: WireGot = lent
        ? { memory, offset: got.data.byteOffset, length: got.data.length, size: got.size, lent: got.release !== undefined }
        : {
            memory: got.data.buffer.slice(got.data.byteOffset, got.data.byteOffset + got.data.length) as ArrayBuffer,
            offset: 0,
            length: got.data.length,
            size: got.size,
            lent: false,
          };
      if (!lent) got.release?.();
      return { value, transfer: [value.memory] };
    }
    case 'head':
      return { value: await store.head(request.key) };
    case 'list':
      return { value: await nextPage(request.listing, request.prefix, request.options) };
    case 'delete':
      return { value: await store.delete(request.key) };
    case 'deleteMany':
      return { value: [...(await store.deleteMany(request.keys))].map(([key, error]) => [key, toWire(error)]) };
    case 'copy':
      return { value: await store.copy(request.fromKey, request.toKey, request.metadata ? { metadata: request.metadata } : {}) };
  }
}

port.on('message', (message: ToWorker) => {
  if ('ref' in message) return calls.answered(message);
  if (!('id' in message)) {
    if (message.op === 'giveBack') buffers.adopt(message.memory);
    else void listings.get(message.listing)?.return?.();
    if (message.op === 'endList') listings.delete(message.listing);
    return;
  }
  run(message).then(
    ({ value, transfer }) => {
      tellDownloaded();
      send({ id: message.id, ok: true, value }, transfer);
    },
    (error: unknown) => {
      tellDownloaded();
      send({ id: message.id, ok: false, error: toWire(error) });
    },
  );
});
send({ event: 'ready' });
