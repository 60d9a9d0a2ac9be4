// The messages between WorkerBackend (worker-backend.ts, on the engine's
// thread) and the ObjectStore it runs in a worker thread
// (object-store-worker.ts), and how errors cross between them keeping the types
// the engine tells apart.
import type { BlockChecksums } from '../crc32c/block-checksums.ts';
import {
  ObjectNotFoundError,
  StoreUnavailableError,
  UnverifiableObjectError,
  type GetOptions,
  type ObjectInfo,
  type ObjectMetadata,
} from './object-backend.ts';
import type { S3Settings } from './object-store.ts';
import { ChecksumMismatchError, type RetryCause } from './retry.ts';

/** Request bodies are read into slots of this many bytes: the store's piece. */
export const SLOT_BYTES = 1024 * 1024;

export interface WorkerSetup {
  readonly settings: S3Settings;
  /** The slots request bodies' pieces cross in: SLOT_BYTES each. */
  readonly slots: SharedArrayBuffer;
  /** Whether the engine paces uploads (BackendHooks.shaper): the worker then asks before each piece goes. */
  readonly paced: boolean;
}

/** An upload's body as the worker sees it: bytes already here, or a source the engine's thread reads for it. */
export type WireBody = { readonly bytes: Uint8Array } | { readonly size: number; readonly checksums: BlockChecksums };

/** The engine's thread asks; the worker answers each with a Reply of the same id. */
export type Request = { readonly id: number } & (
  | { readonly op: 'put'; readonly key: string; readonly body: WireBody; readonly metadata?: ObjectMetadata }
  | { readonly op: 'get'; readonly key: string; readonly range?: { offset: number; length: number }; readonly options?: GetOptions }
  | { readonly op: 'head'; readonly key: string }
  | {
      readonly op: 'list';
      readonly listing: number;
      readonly prefix: string;
      readonly options: { delimiter?: string; startAfter?: string };
    }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'deleteMany'; readonly keys: readonly string[] }
  | { readonly op: 'copy'; readonly fromKey: string; readonly toKey: string; readonly metadata?: ObjectMetadata }
);

/** A GET's body: the memory itself when it came by transfer, else a copy of the bytes. */
export interface WireGot {
  readonly memory: ArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly size: number;
  /** The memory is the worker's pooled buffer: give it back when done. */
  readonly lent: boolean;
}

/** deleteMany()'s keys not deleted, each with its error. */
export type WireFailures = [key: string, error: WireError][];

/** A page of a listing; `done` once the listing has no more. */
export interface WirePage {
  readonly entries: ObjectInfo[];
  readonly done: boolean;
}

export type Reply = { readonly id: number } & (
  { readonly ok: true; readonly value?: unknown } | { readonly ok: false; readonly error: WireError }
);

/** Without an answer: the engine's thread ends a listing early, or gives back a GET body's memory. */
export type Notice = { readonly op: 'endList'; readonly listing: number } | { readonly op: 'giveBack'; readonly memory: ArrayBuffer };

/** The worker asks the engine's thread, for an upload in flight (`put` is its request's id). */
export type Call =
  | {
      readonly call: 'read';
      readonly ref: number;
      readonly put: number;
      readonly offset: number;
      readonly length: number;
      readonly slot: number;
    }
  | { readonly call: 'pace'; readonly ref: number; readonly length: number };

/** The engine's thread answers a call: a read once (failed: the source threw, and the put will fail with that error), a pace once per grant. */
export type Answer = { readonly ref: number } & (
  { readonly read: 'done' | 'failed' } | { readonly grant: number } | { readonly paced: true }
);

/** What the store tells its observer, as it happens. */
export type Event =
  | { readonly event: 'ready' }
  | { readonly event: 'uploaded' | 'downloaded'; readonly bytes: number }
  | { readonly event: 'retried'; readonly cause: RetryCause; readonly operation: string };

export type FromWorker = Reply | Call | Event;
export type ToWorker = Request | Notice | Answer;

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly key?: string;
  readonly location?: string;
  readonly operation?: string;
  readonly code?: string;
  readonly $metadata?: { httpStatusCode?: number };
  readonly cause?: WireError;
}

export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & {
    key?: unknown;
    location?: unknown;
    operation?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    ...(typeof e.key === 'string' ? { key: e.key } : {}),
    ...(typeof e.location === 'string' ? { location: e.location } : {}),
    ...(typeof e.operation === 'string' ? { operation: e.operation } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(e.$metadata ? { $metadata: { httpStatusCode: e.$metadata.httpStatusCode } } : {}),
    ...(e.cause !== undefined ? { cause: toWire(e.cause) } : {}),
  };
}

/** The error again, as the class the engine catches when it is one of the backend's own; else an Error keeping what retryCause() looks at. */
export function fromWire(wire: WireError): Error {
  const error = rebuild(wire);
  if (wire.stack) error.stack = `${wire.stack}\n    (in the object store's worker thread)`;
  return error;
}

function rebuild(wire: WireError): Error {
  switch (wire.name) {
    case 'ObjectNotFoundError':
      return new ObjectNotFoundError(wire.key ?? '');
    case 'UnverifiableObjectError':
      return new UnverifiableObjectError(wire.key ?? '');
    case 'StoreUnavailableError':
      return new StoreUnavailableError(wire.location ?? '', wire.operation ?? '', {
        cause: wire.cause ? fromWire(wire.cause) : new Error(wire.message),
      });
    case 'ChecksumMismatchError':
      return new ChecksumMismatchError(wire.message);
    case 'RangeError':
      return new RangeError(wire.message);
    case 'TypeError':
      return new TypeError(wire.message);
  }
  const error = new Error(wire.message, wire.cause ? { cause: fromWire(wire.cause) } : undefined);
  error.name = wire.name;
  return Object.assign(error, wire.code !== undefined ? { code: wire.code } : {}, wire.$metadata ? { $metadata: wire.$metadata } : {});
}
