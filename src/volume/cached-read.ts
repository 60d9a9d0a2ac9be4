// A read served from the page cache on the calling thread, or not at all
// (native: src/volume/cached-read.c, built by `npm ci` through node-gyp).
import { createRequire } from 'node:module';

const addon = createRequire(import.meta.url)('../../build/Release/cached_read.node') as { readCached(fd: number, buffer: Uint8Array, position: number): number };

/**
 * Fills `buffer` from `fd` at `position` if the page cache holds those bytes,
 * without blocking; the bytes read, or -1 when that is not possible right now
 * (then read through the thread pool, which also reports real errors).
 */
export function readCached(fd: number, buffer: Uint8Array, position: number): number {
  return addon.readCached(fd, buffer, position);
}
