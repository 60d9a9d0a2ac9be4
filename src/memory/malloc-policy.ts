// The C allocator's policy for the gateway's process (native: src/memory/malloc-policy.c).
//
// Every Buffer and ArrayBuffer Node makes lives in memory from glibc's malloc,
// not V8's heap. By default glibc hands a block of 128 KiB or more its own
// mapping, returned to the system when freed, but the first time such a block
// is freed it raises that threshold to the block's size (up to 32 MiB): after
// the first 17 MiB GET body or 16 MiB read window is given back, every later
// buffer up to that size comes from malloc's arenas instead, whose free space
// stays resident (an arena only shrinks from its top). Held fixed, large
// buffers come and go as mappings of their own and the arenas stay small; the
// pools in src/buffers keep what is worth reusing, so the mappings are not
// made per command.
import { createRequire } from 'node:module';

const addon = createRequire(import.meta.url)('../../build/Release/malloc_policy.node') as {
  holdMmapThreshold(bytes: number): boolean;
};

/** Blocks of this size or more get a mapping of their own, returned to the system when freed. */
export const MMAP_THRESHOLD = 128 * 1024;

/**
 * Holds the policy above for the rest of the process's life, unless the
 * environment sets glibc's own variable for it (MALLOC_MMAP_THRESHOLD_),
 * which then wins. Returns whether this call set it: false
 * also where the C library is not glibc.
 */
export function holdMallocPolicy(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['MALLOC_MMAP_THRESHOLD_'] !== undefined) return false;
  return addon.holdMmapThreshold(MMAP_THRESHOLD);
}
