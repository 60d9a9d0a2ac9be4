// Run as a child process by the crash test and the soak script: prints
// "opening" before the engine recovers, then writes extents without end and
// prints "durable <key> <size>" once sync() has covered one.
// Each key is written once, front to back, so any upload of it is a prefix of
// pattern(key, size). Killed with SIGKILL at a random moment.
import { randomInt } from 'node:crypto';
import type { S3Settings } from '../../src/cloud/object-store.ts';
import { MiB, openEngine, pattern } from './helpers.ts';

const [dir, settingsJson, run] = process.argv.slice(2);
const settings = JSON.parse(settingsJson!) as S3Settings;
process.stdout.write('opening\n');
const opened = await openEngine(dir!, settings, {
  cacheBytes: 48 * MiB,
  uploadBufferBytes: 24 * MiB,
  uploadConcurrency: 3,
  writebackIntervalMs: 200,
});
for (let n = 0; ; n++) {
  const key = `crash/${run}/k-${n}`;
  const size = randomInt(1, 3 * MiB);
  const data = pattern(key, size);
  for (let at = 0; at < size;) {
    const length = Math.min(size - at, randomInt(1, 512 * 1024));
    await opened.store.write(key, at, data.subarray(at, at + length));
    at += length;
  }
  await opened.store.sync([key]);
  process.stdout.write(`durable ${key} ${size}\n`);
}
