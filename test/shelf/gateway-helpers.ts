// Driving a real gateway process for the vault shelf's tests: its management
// API over HTTP, its changer and drives over iSCSI, its S3 bucket and its
// embedded Glacier endpoint through the AWS SDK.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Vault } from '../../src/cloud/vault.ts';
import { embeddedGlacierCredentials } from '../../src/gateway/glacier.ts';
import type { ShelfTapeInfo } from '../../src/shelf/shelf-service.ts';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import { TestInitiator } from '../helpers/initiator.ts';

export const GOOD = 0;
export const CHECK_CONDITION = 2;
export const BLOCK = 64 * 1024;
export const LIBRARY_ARGS = ['--drives', '2', '--slots', '10', '--import-export-slots', '2', '--min-tape-size', '1MiB', '--volume', 'scratch=1MiB'];

export const cdb = {
  readElementStatus: (allocation: number) => [0xb8, 0x10, 0, 0, 0xff, 0xff, 0, (allocation >> 16) & 0xff, (allocation >> 8) & 0xff, allocation & 0xff, 0, 0],
  moveMedium: (source: number, destination: number) => [0xa5, 0, 0, 0, (source >> 8) & 0xff, source & 0xff, (destination >> 8) & 0xff, destination & 0xff, 0, 0, 0, 0],
  write6: (length: number) => [0x0a, 0, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff, 0],
  read6: (length: number) => [0x08, 0, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff, 0],
  writeFilemarks: (count: number) => [0x10, 0, 0, 0, count, 0],
  rewind: () => [0x01, 0, 0, 0, 0, 0],
  testUnitReady: () => [0, 0, 0, 0, 0, 0],
};

export function block(i: number, length = BLOCK): Buffer {
  const b = Buffer.alloc(length);
  for (let at = 0; at < length; at += 4) b.writeUInt32BE((i * 2654435761 + at) >>> 0, at);
  return b;
}

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
export async function watchShelf(gw: GatewayProcess, barcode: string, status: string, timeoutMs = 120_000): Promise<{ info: ShelfTapeInfo; seen: string[] }> {
  const seen: string[] = [];
  let last: ShelfTapeInfo | undefined;
  const info = await until(`${barcode} becomes ${status}`, async () => {
    last = await shelfTape(gw, barcode);
    if (last && seen.at(-1) !== last.status) seen.push(last.status);
    return last?.status === status ? last : undefined;
  }, timeoutMs).catch((error: Error) => assert.fail(`${error.message}; last seen ${JSON.stringify(last)}`));
  return { info, seen };
}

export async function login(gw: GatewayProcess, target: string, isid: number): Promise<TestInitiator> {
  const initiator = await TestInitiator.connect(gw.port);
  await initiator.login({ targetName: target, isid: Buffer.from([0x80, 0, 0, 0, 0, isid]) });
  for (let i = 0; i < 4 && (await initiator.command(cdb.testUnitReady())).status !== GOOD; i++);
  return initiator;
}

export interface Element {
  address: number;
  type: number;
  full: boolean;
  barcode: string;
}

export async function elements(changer: TestInitiator): Promise<Element[]> {
  const result = await changer.command(cdb.readElementStatus(65536), { read: 65536 });
  assert.equal(result.status, GOOD);
  const data = result.data;
  const found: Element[] = [];
  for (let page = 8; page + 8 <= data.length; ) {
    const type = data[page]!;
    const descriptorLength = data.readUInt16BE(page + 2);
    const pageBytes = data.readUIntBE(page + 5, 3);
    for (let at = page + 8; at < page + 8 + pageBytes; at += descriptorLength) {
      found.push({ address: data.readUInt16BE(at), type, full: (data[at + 2]! & 0x01) !== 0, barcode: data.subarray(at + 12, at + 12 + 32).toString('latin1').trim() });
    }
    page += 8 + pageBytes;
  }
  return found;
}

export const STORAGE = 2;
export const IMPORT_EXPORT = 3;
export const DRIVE = 4;

export function targets(gw: GatewayProcess): { changer: string; drive: string } {
  return {
    changer: gw.targets.find((t) => t.luns[0]?.deviceType === 'changer')!.name,
    drive: gw.targets.find((t) => t.luns[0]?.deviceType === 'tape')!.name,
  };
}

/** Moves a cartridge by MOVE MEDIUM from wherever it is to the first empty element of `type`. */
export async function moveTo(gw: GatewayProcess, barcode: string, type: number): Promise<void> {
  const changer = await login(gw, targets(gw).changer, 1);
  const all = await elements(changer);
  const from = all.find((e) => e.barcode === barcode);
  const to = all.find((e) => e.type === type && !e.full);
  assert.ok(from && to, `${barcode} is in the library and an element of type ${type} is free`);
  const moved = await changer.command(cdb.moveMedium(from.address, to.address));
  assert.equal(moved.status, GOOD, `MOVE MEDIUM (sense ${moved.sense.toString('hex')})`);
  changer.close();
}

export async function changerView(gw: GatewayProcess): Promise<Element[]> {
  const changer = await login(gw, targets(gw).changer, 4);
  const all = await elements(changer);
  changer.close();
  return all;
}

/** Creates a cartridge, loads it and writes `count` blocks and a filemark (a sync point). */
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
  return new S3Client({ endpoint: gw.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
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
