// Run by malloc-policy.test.ts in a process of its own (node --expose-gc --import tsx):
// with `hold` as argument it holds the gateway's malloc policy first. Frees one 16 MiB
// buffer (glibc's own policy then raises its mmap threshold to that size), then makes
// 64 buffers of 1 MiB, each followed by a small allocation that stays, frees the
// buffers, and prints the process's resident MiB before, at the peak and after, and
// whether the policy was held, as one JSON line.
import { readFileSync } from 'node:fs';
import { holdMallocPolicy } from '../../src/memory/malloc-policy.ts';

const residentMiB = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
// V8 frees the memory of dead ArrayBuffers on a thread of its own, a little after a collection.
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const held = process.argv[2] === 'hold' ? holdMallocPolicy() : false;
new Uint8Array(new ArrayBuffer(16 << 20)).fill(1);
await collect();
const before = residentMiB();
const buffers: ArrayBuffer[] = [];
const kept: Buffer[] = [];
for (let i = 0; i < 64; i++) {
  const buffer = new ArrayBuffer(1 << 20);
  new Uint8Array(buffer).fill(2);
  buffers.push(buffer);
  kept.push(Buffer.allocUnsafeSlow(200));
}
const peak = residentMiB();
buffers.length = 0;
await collect();
process.stdout.write(`${JSON.stringify({ held, before, peak, after: residentMiB(), kept: kept.length })}\n`);
