// Driving a real gateway's tape library over iSCSI with the test initiator:
// CDBs, a deterministic block pattern, logins that clear the new nexus's unit
// attentions, READ ELEMENT STATUS parsed, and MOVE MEDIUM by barcode.
import assert from 'node:assert/strict';
import type { GatewayProcess } from './gateway-process.ts';
import { TestInitiator } from './initiator.ts';

export const GOOD = 0;
export const CHECK_CONDITION = 2;
export const BLOCK = 64 * 1024;
export const LIBRARY_ARGS = [
  '--drives',
  '2',
  '--slots',
  '10',
  '--import-export-slots',
  '2',
  '--min-tape-size',
  '1MiB',
  '--volume',
  'scratch=1MiB',
];

export const cdb = {
  readElementStatus: (allocation: number) => [
    0xb8,
    0x10,
    0,
    0,
    0xff,
    0xff,
    0,
    (allocation >> 16) & 0xff,
    (allocation >> 8) & 0xff,
    allocation & 0xff,
    0,
    0,
  ],
  moveMedium: (source: number, destination: number) => [
    0xa5,
    0,
    0,
    0,
    (source >> 8) & 0xff,
    source & 0xff,
    (destination >> 8) & 0xff,
    destination & 0xff,
    0,
    0,
    0,
    0,
  ],
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
  for (let page = 8; page + 8 <= data.length;) {
    const type = data[page]!;
    const descriptorLength = data.readUInt16BE(page + 2);
    const pageBytes = data.readUIntBE(page + 5, 3);
    for (let at = page + 8; at < page + 8 + pageBytes; at += descriptorLength) {
      found.push({
        address: data.readUInt16BE(at),
        type,
        full: (data[at + 2]! & 0x01) !== 0,
        barcode: data
          .subarray(at + 12, at + 12 + 32)
          .toString('latin1')
          .trim(),
      });
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
