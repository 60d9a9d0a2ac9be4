// The errors an extent store raises, whatever the object backend behind it: a
// consumer (tapes, volumes, shares) catches these and never the backend's own.
import { ObjectNotFoundError, StoreUnavailableError, UnverifiableObjectError } from '../cloud/object-backend.ts';
import { ChecksumMismatchError } from '../cloud/retry.ts';

/** The extent exists neither in the cache nor in the cloud. */
export class ExtentNotFoundError extends Error {
  override readonly name = 'ExtentNotFoundError';
  constructor(readonly key: string) {
    super(`extent ${key} does not exist`);
  }
}

/** Bytes that fail their checksums, or that cannot be checked: never served as data. */
export class DamagedDataError extends Error {
  override readonly name: string = 'DamagedDataError';
  constructor(
    readonly key: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Bytes on the cache disk do not match their checksum, and no clean copy exists to fetch. */
export class CacheCorruptionError extends DamagedDataError {
  override readonly name = 'CacheCorruptionError';
  constructor(
    key: string,
    readonly block: number,
    blockSize: number,
  ) {
    super(key, `cached data of ${key} is corrupt at block ${block} (bytes ${block * blockSize}…) and not yet uploaded`);
  }
}

/** The object store did not answer, or kept failing, through every retry. */
export class ObjectStoreUnavailableError extends Error {
  override readonly name = 'ObjectStoreUnavailableError';
  constructor(
    /** The endpoint and bucket, as an operator would look for them. */
    readonly location: string,
    options: ErrorOptions,
  ) {
    super(`the object store at ${location} is unavailable`, options);
  }
}

/** The backend's error for an operation on `key`, as the extent store's own. */
export function storeError(error: unknown, key: string): unknown {
  if (error instanceof ObjectNotFoundError) return new ExtentNotFoundError(key);
  if (error instanceof ChecksumMismatchError || error instanceof UnverifiableObjectError) {
    return new DamagedDataError(key, `${key} in the cloud cannot be served: ${error.message}`, { cause: error });
  }
  if (error instanceof StoreUnavailableError) return new ObjectStoreUnavailableError(error.location, { cause: error });
  return error;
}
