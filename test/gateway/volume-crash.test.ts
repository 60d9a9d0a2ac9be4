// kill -9 of the gateway while initiators write to a cached and a stored
// volume at random, with SYNCHRONIZE CACHE between batches: after each
// restart, every block a completed SYNCHRONIZE CACHE covered reads back as
// written (a block written after it reads as either that or a later write),
// and in the end the uploads that were pending reach the bucket: the cached
// volume reads back whole with the cache wiped.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pattern } from '../cache/helpers.ts';
import { BlockClient } from '../helpers/block-client.ts';
import { startGatewayProcess, waitForUploads, type GatewayProcess } from '../helpers/gateway-process.ts';

/**
 * Kills of the gateway: 3 in the suite, which keeps this file near CI's minute (each trial starts a
 * gateway process that recovers its cache, 10-25 s on a busy 2-core machine). VOLUME_CRASH_TRIALS=20
 * runs the 20 issue 16 asks for (about 10 minutes here).
 */
const TRIALS = Number(process.env['VOLUME_CRASH_TRIALS'] ?? 3);
const VOLUME_BYTES = 64 * 1024 * 1024;
const BLOCK = 512;
const PAGE = 4096;
const VOLUMES = [
  { name: 'crash-cached', flag: 'crash-cached=64MiB:cached' },
  { name: 'crash-stored', flag: 'crash-stored=64MiB' },
];

/** Where a 4 KiB page's content comes from: bytes `at` of the write `tag` (null: zeros). */
type Source = { readonly tag: string; readonly at: number } | null;

class Expectations {
  /** What each page held at the last completed SYNCHRONIZE CACHE. */
  readonly synced = new Map<number, Source>();
  /** What each page may hold besides: writes since then (sent, whether or not acknowledged). */
  readonly since = new Map<number, Source[]>();
  private readonly contents = new Map<string, Buffer>();

  wrote(tag: string, offset: number, length: number): void {
    this.contents.set(tag, pattern(tag, length));
    for (let at = 0; at < length; at += PAGE) {
      const page = (offset + at) / PAGE;
      const list = this.since.get(page) ?? [];
      list.push({ tag, at });
      this.since.set(page, list);
    }
  }

  /** A SYNCHRONIZE CACHE completed: writes acknowledged before it are what the pages hold. */
  syncedUpTo(acknowledged: ReadonlyMap<number, Source>): void {
    for (const [page, source] of acknowledged) this.synced.set(page, source);
    this.since.clear();
  }

  bytes(source: Source): Buffer {
    return source === null ? Buffer.alloc(PAGE) : this.contents.get(source.tag)!.subarray(source.at, source.at + PAGE);
  }

  /** Pages whose content is not one the rules allow. */
  check(page: number, data: Buffer): string | undefined {
    const allowed = [this.synced.get(page) ?? null, ...(this.since.get(page) ?? [])];
    if (allowed.some((s) => this.bytes(s).equals(data))) return undefined;
    return `page ${page} holds none of ${allowed.map((s) => (s ? `${s.tag}+${s.at}` : 'zeros')).join(', ')}`;
  }

  /** After a restart that passed the check: what was read is what the pages hold (durable from now on: the gateway synced at start). */
  settle(page: number, data: Buffer): void {
    const allowed = [this.synced.get(page) ?? null, ...(this.since.get(page) ?? [])];
    this.synced.set(page, allowed.find((s) => this.bytes(s).equals(data)) ?? null);
  }
}

describe('@peer @slow volumes under kill -9', function () {
  // A minute a trial at worst, and two for the last start, its uploads and the read from the bucket.
  this.timeout((2 + TRIALS) * 60_000);
  let dataDir: string;
  let gw: GatewayProcess | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'volume-crash-'));
  });
  after(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  // A restart recovers up to the whole upload buffer's worth of extents while their uploads resume: room for that on a busy machine.
  const start = () =>
    startGatewayProcess({
      dataDir,
      readyTimeoutMs: 90_000,
      args: ['--drives', '1', '--slots', '4', '--import-export-slots', '1', ...VOLUMES.flatMap((v) => ['--volume', v.flag])],
    });
  const target = (g: GatewayProcess, name: string) => g.targets.find((t) => t.name.endsWith(`-${name}`))!.name;

  /** Every page written so far holds what the rules allow; from now on it holds what was read. */
  async function verify(expect: Expectations[], clients: BlockClient[], when: string): Promise<void> {
    // Both at once: a session left idle for long gets NOP-In pings the test initiator does not answer.
    await Promise.all(
      clients.map(async (client, i) => {
        const e = expect[i]!;
        const pages = [...new Set([...e.synced.keys(), ...e.since.keys()])].sort((a, b) => a - b);
        const problems: string[] = [];
        for (const page of pages) {
          const data = await client.read((page * PAGE) / BLOCK, PAGE / BLOCK);
          const problem = e.check(page, data);
          if (problem) problems.push(problem);
          else e.settle(page, data);
        }
        assert.deepEqual(
          problems.slice(0, 5),
          [],
          `${VOLUMES[i]!.name} ${when}: ${problems.length} page(s) lost what SYNCHRONIZE CACHE acknowledged`,
        );
        e.since.clear();
      }),
    );
  }

  it(`loses no block a SYNCHRONIZE CACHE acknowledged, over ${TRIALS} kills during random writes`, async () => {
    const expect = VOLUMES.map(() => new Expectations());
    let seed = 1;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let syncs = 0;
    let lostWrites = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      gw = await start();
      const g = gw;
      // Verify what the previous trial left, then write until the kill.
      const clients = await Promise.all(VOLUMES.map((v) => BlockClient.login(g.port, target(g, v.name))));
      await verify(expect, clients, `after kill ${trial}`);
      const killAt = Date.now() + 400 + random() * 2500;
      const killed = new Promise<void>((resolve) => setTimeout(() => void g.kill().then(() => resolve()), killAt - Date.now()));
      await Promise.all(
        clients.map(async (client, i) => {
          const e = expect[i]!;
          let acknowledged = new Map<number, Source>();
          try {
            for (let batch = 0; ; batch++) {
              const writes = 1 + Math.floor(random() * 12);
              for (let w = 0; w < writes; w++) {
                const pages = 1 + Math.floor(random() * 16);
                const page = Math.floor(random() * (VOLUME_BYTES / PAGE - pages));
                const tag = `t${trial}-v${i}-b${batch}-w${w}`;
                e.wrote(tag, page * PAGE, pages * PAGE);
                await client.write((page * PAGE) / BLOCK, pattern(tag, pages * PAGE));
                for (let p = 0; p < pages; p++) acknowledged.set(page + p, { tag, at: p * PAGE });
              }
              await client.synchronizeCache();
              e.syncedUpTo(acknowledged);
              acknowledged = new Map();
              syncs++;
            }
          } catch {
            // The kill: what was sent since the last SYNCHRONIZE CACHE may or may not be there.
            lostWrites++;
          }
        }),
      );
      await killed;
      for (const client of clients) client.close();
      gw = undefined;
    }
    assert.ok(syncs >= TRIALS, `only ${syncs} SYNCHRONIZE CACHE commands completed in ${TRIALS} trials`);

    // A last start: the last kill's pages checked, then a clean stop once the uploads are done, and
    // the cache wiped: the cached volume comes back from the bucket as it was.
    gw = await start();
    const last = gw;
    const lastClients = await Promise.all(VOLUMES.map((v) => BlockClient.login(last.port, target(last, v.name))));
    await verify(expect, lastClients, 'after the last kill');
    for (const client of lastClients) await client.logout();
    await waitForUploads(gw, 120_000);
    await gw.stop();
    await rm(join(dataDir, 'cache'), { recursive: true, force: true });
    gw = await start();
    const g = gw;
    const client = await BlockClient.login(g.port, target(g, VOLUMES[0]!.name));
    try {
      const problems: string[] = [];
      for (const page of [...expect[0]!.synced.keys()]) {
        const data = await client.read((page * PAGE) / BLOCK, PAGE / BLOCK);
        if (!expect[0]!.bytes(expect[0]!.synced.get(page) ?? null).equals(data)) problems.push(`page ${page}`);
      }
      assert.deepEqual(problems.slice(0, 5), [], `${problems.length} page(s) of the cached volume differ once read from the bucket`);
    } finally {
      await client.logout();
    }
    console.log(`      ${TRIALS} kills, ${syncs} SYNCHRONIZE CACHE completed, ${lostWrites} write streams cut by a kill`);
  });
});
