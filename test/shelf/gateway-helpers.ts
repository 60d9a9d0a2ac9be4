// Driving a real gateway process for the vault shelf's tests: its management
// API over HTTP, its changer and drives over iSCSI, its S3 bucket and its
// embedded Glacier endpoint through the AWS SDK.
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Vault } from '../../src/cloud/vault.ts';
import { embeddedGlacierCredentials } from '../../src/gateway/glacier.ts';
import type { ShelfTapeInfo } from '../../src/shelf/shelf-service.ts';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import type { TestInitiator } from '../helpers/initiator.ts';
import { BLOCK, CHECK_CONDITION, DRIVE, GOOD, block, cdb, changerView, login, moveTo, targets } from '../helpers/library-driver.ts';
import { flipBits } from '../helpers/bytes.ts';

export {
  BLOCK,
  CHECK_CONDITION,
  DRIVE,
  GOOD,
  IMPORT_EXPORT,
  LIBRARY_ARGS,
  STORAGE,
  block,
  cdb,
  changerView,
  elements,
  login,
  moveTo,
  targets,
  type Element,
} from '../helpers/library-driver.ts';

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The management API of a running gateway, as the CLI reaches it. */
export async function api(gw: GatewayProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const { url, token } = JSON.parse(await readFile(join(gw.dataDir, 'api.json'), 'utf8')) as { url: string; token: string };
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export async function shelfTape(gw: GatewayProcess, barcode: string): Promise<ShelfTapeInfo | undefined> {
  const reply = await api(gw, 'GET', `/shelf/${barcode}`);
  return reply.status === 200 ? (reply.body as ShelfTapeInfo) : undefined;
}

/** Polls the shelf until the cartridge is `status`, and returns every status seen on the way. */
export async function watchShelf(
  gw: GatewayProcess,
  barcode: string,
  status: string,
  timeoutMs = 120_000,
): Promise<{ info: ShelfTapeInfo; seen: string[] }> {
  const seen: string[] = [];
  let last: ShelfTapeInfo | undefined;
  const info = await until(
    `${barcode} becomes ${status}`,
    async () => {
      last = await shelfTape(gw, barcode);
      if (last && seen.at(-1) !== last.status) seen.push(last.status);
      return last?.status === status ? last : undefined;
    },
    timeoutMs,
  ).catch((error: Error) => assert.fail(`${error.message}; last seen ${JSON.stringify(last)}`));
  return { info, seen };
}

/** A new cartridge (in the pool given, else the default one) with `count` blocks and a filemark written through a drive. */
export async function writeCartridge(gw: GatewayProcess, barcode: string, count: number, pool?: string): Promise<Buffer[]> {
  const created = await api(gw, 'POST', '/tapes', { barcode, sizeBytes: 256 * 1024 * 1024, ...(pool ? { pool } : {}) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await moveTo(gw, barcode, DRIVE);
  const tape = await login(gw, targets(gw).drive, 2);
  const blocks = Array.from({ length: count }, (_, i) => block(i));
  for (const data of blocks) assert.equal((await tape.command(cdb.write6(data.length), { write: data })).status, GOOD);
  assert.equal((await tape.command(cdb.writeFilemarks(1))).status, GOOD);
  tape.close();
  return blocks;
}

/** Loads the cartridge from its import/export slot and checks every block and the filemark read back. */
export async function readBack(gw: GatewayProcess, barcode: string, blocks: Buffer[]): Promise<TestInitiator> {
  await moveTo(gw, barcode, DRIVE);
  const reader = await login(gw, targets(gw).drive, 3);
  assert.equal((await reader.command(cdb.rewind())).status, GOOD);
  for (const [i, expected] of blocks.entries()) {
    const read = await reader.command(cdb.read6(BLOCK), { read: BLOCK });
    assert.equal(read.status, GOOD, `block ${i} reads back (sense ${read.sense.toString('hex')})`);
    assert.ok(read.data.equals(expected), `block ${i} is what was written`);
  }
  const filemark = await reader.command(cdb.read6(BLOCK), { read: BLOCK });
  assert.equal(filemark.status, CHECK_CONDITION);
  assert.equal(filemark.sense[2]! & 0x80, 0x80, 'FILEMARK bit after the last block');
  return reader;
}

export function bucket(gw: GatewayProcess): S3Client {
  return new S3Client({
    endpoint: gw.s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

export async function objectsOf(s3: S3Client, gw: GatewayProcess, barcode: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: gw.s3.bucket, Prefix: `${gw.s3.prefix}tapes/${barcode}/` }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

/** The gateway's embedded Glacier endpoint, reached as the gateway reaches it. */
export function glacierVault(gw: GatewayProcess, name = 'gw1-glacier'): Vault {
  const started = gw.logs.find((r) => r.msg === 'embedded Glacier endpoint started');
  assert.ok(started, 'the gateway logged its embedded Glacier endpoint');
  return new Vault({ vault: name, endpoint: started['endpoint'] as string, region: 'us-east-1', credentials: embeddedGlacierCredentials });
}

/** Damages a stored archive behind the gateway's back: the byte at `position` of the file is inverted. */
export async function flipByte(path: string, position: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, position);
    flipBits(byte, 0);
    await file.write(byte, 0, 1, position);
  } finally {
    await file.close();
  }
}

/** Asks for a damaged cartridge back: it must end IRRECOVERABLE, never RETRIEVED, and stay out of the library. */
export async function retrieveIrrecoverable(gw: GatewayProcess, barcode: string): Promise<void> {
  assert.equal((await api(gw, 'POST', `/shelf/${barcode}/retrieve`, { tier: 'Expedited' })).status, 202);
  const { info, seen } = await watchShelf(gw, barcode, 'IRRECOVERABLE', 240_000);
  assert.ok(!seen.includes('RETRIEVED'), 'never served');
  assert.match(info.error ?? '', /cannot be read back whole|tree hash|CRC32C/);
  assert.ok(!(await changerView(gw)).some((e) => e.barcode === barcode), 'not in the library');
}
