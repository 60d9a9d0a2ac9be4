// Application-managed encryption of the tape drive (SSC-4 SECURITY PROTOCOL IN/OUT, protocol 20h)
// as stenc, NetBackup or Veeam drive it: pages, keys per I_T nexus, records sealed before they
// reach the cartridge, the DATA PROTECT a drive gives for a block it cannot decrypt. Over the real
// Cartridge and LibraryBay; the engine under the cartridge is the in-memory stand-in.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createTapeDriveUnit } from '../../scsi/ssc/drive.ts';
import { Status, type Nexus, type ScsiResponse } from '../../scsi/types.ts';
import { Cartridge } from '../../src/tape/cartridge.ts';
import { LibraryBay } from '../../src/tape/library-bay.ts';
import { MemoryCartridgeStore } from '../helpers/memory-cartridge-store.ts';
import { decodeSense } from '../helpers/sense.ts';
import { A, B } from './helpers.ts';

const BARCODE = 'CRYPT1L5';

const be = (value: number, bytes: number): number[] =>
  Array.from({ length: bytes }, (_, i) => Math.floor(value / 256 ** (bytes - 1 - i)) & 0xff);
const spin = (protocol: number, page: number, allocation = 8192): number[] => [
  0xa2,
  protocol,
  page >> 8,
  page & 0xff,
  0,
  0,
  ...be(allocation, 4),
  0,
  0,
];
const spout = (length: number, page = 0x0010, protocol = 0x20): number[] => [
  0xb5,
  protocol,
  page >> 8,
  page & 0xff,
  0,
  0,
  ...be(length, 4),
  0,
  0,
];
const write6 = (length: number): number[] => [0x0a, 0, ...be(length, 3), 0];
const read6 = (length: number): number[] => [0x08, 0, ...be(length, 3), 0];
const REWIND = [0x01, 0, 0, 0, 0, 0];
const TUR = [0, 0, 0, 0, 0, 0];
const WRITE_FILEMARK = [0x10, 0, 0, 0, 1, 0];

interface SetDataEncryption {
  scope?: number;
  encrypt?: number;
  decrypt?: number;
  key?: Buffer;
  ukad?: Buffer;
  akad?: Buffer;
  ckod?: boolean;
  algorithm?: number;
  kadFormat?: number;
  flags?: number;
}

/** A Set Data Encryption page laid out byte by byte as SSC-4 8.5.4.2 (and stenc) writes it. */
function setDataEncryption(o: SetDataEncryption): Buffer {
  const key = o.key ?? Buffer.alloc(0);
  const kads = [
    ...(o.ukad ? [Buffer.from([0x00, 0, ...be(o.ukad.length, 2)]), o.ukad] : []),
    ...(o.akad ? [Buffer.from([0x01, 0, ...be(o.akad.length, 2)]), o.akad] : []),
  ];
  const body = Buffer.concat([
    Buffer.from([
      (o.scope ?? 2) << 5,
      (o.ckod ? 0x04 : 0) | (o.flags ?? 0),
      o.encrypt ?? 2,
      o.decrypt ?? 2,
      o.algorithm ?? 1,
      0,
      o.kadFormat ?? 0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...be(key.length, 2),
    ]),
    key,
    ...kads,
  ]);
  return Buffer.concat([Buffer.from([0x00, 0x10, ...be(body.length, 2)]), body]);
}

function record(i: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let j = 0; j < length; j++) b[j] = (i * 131 + j * 7 + (j >> 8)) & 0xff;
  return b;
}

function good(r: ScsiResponse): Buffer {
  assert.equal(r.status, Status.Good, r.sense ? `sense ${r.sense.toString('hex')}` : `status ${r.status}`);
  return r.data ?? Buffer.alloc(0);
}

function expectSense(r: ScsiResponse, key: number, asc: number, ascq: number, fieldPointer?: { byte: number; bit?: number }): void {
  assert.equal(r.status, Status.CheckCondition, `expected CHECK CONDITION, got ${r.status}`);
  const s = decodeSense(r.sense!);
  assert.deepEqual([s.key, s.asc, s.ascq], [key, asc, ascq], `sense ${s.key}/${s.asc.toString(16)}/${s.ascq.toString(16)}`);
  if (fieldPointer)
    assert.deepEqual({ byte: s.fieldPointer?.byte, bit: s.fieldPointer?.bit }, { byte: fieldPointer.byte, bit: fieldPointer.bit });
}

const DATA_PROTECT = 0x7;
const ILLEGAL_REQUEST = 0x5;

async function drive() {
  const store = new MemoryCartridgeStore();
  await Cartridge.create(store, { barcode: BARCODE, capacityBytes: 64 * 2 ** 20, segmentBytes: 2 ** 20 });
  const bay = new LibraryBay({
    cartridges: { openCartridge: (barcode) => Cartridge.open(store, barcode), closeCartridge: async () => {} },
    exclusive: (work) => work(),
  });
  const unit = createTapeDriveUnit({ identity: { serial: '1013000009', gatewayId: 'gw-test', name: 'drive-09' }, bay });
  await bay.insert(BARCODE);
  let tag = 0;
  const exec = (cdb: number[], o: { dataOut?: Buffer; nexus?: Nexus } = {}): Promise<ScsiResponse> =>
    unit.execute({
      nexus: o.nexus ?? A,
      lun: Buffer.alloc(8),
      cdb: Buffer.from(cdb),
      dataOut: o.dataOut ?? Buffer.alloc(0),
      dataInLength: 1 << 24,
      attribute: 'simple',
      tag: tag++,
    });
  for (const n of [A, B]) await exec(TUR, { nexus: n });
  const set = (o: SetDataEncryption, n: Nexus = A): Promise<ScsiResponse> => {
    const page = setDataEncryption(o);
    return exec(spout(page.length), { dataOut: page, nexus: n });
  };
  const write = (data: Buffer, n: Nexus = A): Promise<ScsiResponse> => exec(write6(data.length), { dataOut: data, nexus: n });
  const read = (length: number, n: Nexus = A): Promise<ScsiResponse> => exec(read6(length), { nexus: n });
  return { unit, bay, store, exec, set, write, read };
}

/** The Data Encryption Status page: scopes, modes, algorithm, key instance counter, KADs. */
function statusOf(page: Buffer) {
  assert.equal(page.readUInt16BE(0), 0x0020);
  const kads: { type: number; value: string }[] = [];
  for (let at = 24; at < 4 + page.readUInt16BE(2); at += 4 + page.readUInt16BE(at + 2))
    kads.push({ type: page[at]!, value: page.subarray(at + 4, at + 4 + page.readUInt16BE(at + 2)).toString() });
  return {
    nexusScope: page[4]! >> 5,
    keyScope: page[4]! & 7,
    encrypt: page[5],
    decrypt: page[6],
    algorithm: page[7],
    counter: page.readUInt32BE(8),
    kads,
  };
}

/** Next Block Encryption Status: object number, encryption status, KADs. */
function nextBlockOf(page: Buffer) {
  assert.equal(page.readUInt16BE(0), 0x0021);
  const kads: { type: number; authenticated: number; value: string }[] = [];
  for (let at = 16; at < 4 + page.readUInt16BE(2); at += 4 + page.readUInt16BE(at + 2)) {
    kads.push({
      type: page[at]!,
      authenticated: page[at + 1]! & 7,
      value: page.subarray(at + 4, at + 4 + page.readUInt16BE(at + 2)).toString(),
    });
  }
  return { object: Number(page.readBigUInt64BE(4)), status: page[12]! & 0x0f, algorithm: page[13], kads };
}

describe('SSC tape drive: application-managed encryption (SECURITY PROTOCOL IN/OUT, protocol 20h)', () => {
  it('lists protocol 20h and its pages; one algorithm, AES-256-GCM with 32-byte keys, valid for the LTO-5 cartridge', async () => {
    const d = await drive();
    const protocols = good(await d.exec(spin(0x00, 0x0000)));
    assert.deepEqual([...protocols.subarray(6)], [0, 2, 0x00, 0x20]);
    const inPages = good(await d.exec(spin(0x20, 0x0000)));
    assert.deepEqual([...inPages], [0, 0, 0, 14, 0, 0x00, 0, 0x01, 0, 0x10, 0, 0x11, 0, 0x12, 0, 0x20, 0, 0x21]);
    assert.deepEqual([...good(await d.exec(spin(0x20, 0x0001)))], [0, 1, 0, 2, 0, 0x10]);
    const caps = good(await d.exec(spin(0x20, 0x0010)));
    assert.equal(caps.readUInt16BE(2), caps.length - 4);
    const descriptor = caps.subarray(20);
    assert.equal(descriptor[0], 1, 'algorithm index');
    assert.equal(descriptor.readUInt16BE(2), 20);
    assert.equal(descriptor[4]! & 0x80, 0x80, 'AVFMV: valid for the mounted LTO-5 volume');
    assert.deepEqual([(descriptor[4]! >> 2) & 3, descriptor[4]! & 3], [2, 2], 'DECRYPT_C, ENCRYPT_C');
    assert.deepEqual(
      [descriptor.readUInt16BE(6), descriptor.readUInt16BE(8), descriptor.readUInt16BE(10)],
      [32, 12, 32],
      'U-KAD, A-KAD, key size',
    );
    assert.equal(descriptor.readUInt32BE(20), 0x00010014, 'AES-256-GCM, 16-byte tag');
    assert.deepEqual([...good(await d.exec(spin(0x20, 0x0011)))], [0, 0x11, 0, 1, 0x00], 'plain-text keys');
    const management = good(await d.exec(spin(0x20, 0x0012)));
    assert.deepEqual([management[4], management[5], management[7]], [0, 0x04, 0x07], 'no LOCK; CKOD; ALL I_T NEXUS, LOCAL, PUBLIC');
    assert.equal(good(await d.exec(spin(0x20, 0x0010, 8))).length, 8, 'allocation length cuts');
    expectSense(await d.exec(spin(0x20, 0x0030)), ILLEGAL_REQUEST, 0x24, 0x00, { byte: 2 });
    expectSense(await d.exec(spin(0x21, 0x0000)), ILLEGAL_REQUEST, 0x24, 0x00, { byte: 1 });
  });

  it('records written with a key reach the cartridge as ciphertext and read back only with that key; the senses of a real drive otherwise', async () => {
    const d = await drive();
    const key = randomBytes(32);
    const plain = randomBytes(64 * 1024);
    good(await d.write(record(0, 1000))); // written before encryption: a plain block
    const page = setDataEncryption({ key, ukad: Buffer.from('backup-key-7') });
    good(await d.exec(spout(page.length), { dataOut: page }));
    assert.ok(page.subarray(20, 52).equals(Buffer.alloc(32)), 'the key is wiped from the parameter list once taken');
    good(await d.write(plain));
    good(await d.write(record(2, 500)));
    good(await d.exec(WRITE_FILEMARK));
    const stored = Buffer.concat([...d.store.objects.values()]);
    assert.equal(stored.indexOf(plain.subarray(0, 64)), -1, 'no plaintext in the store');
    assert.equal(stored.indexOf(key), -1, 'no key in the store');
    assert.notEqual(stored.indexOf(record(0, 1000).subarray(0, 64)), -1, 'the block written before encryption is as it was');

    const status = statusOf(good(await d.exec(spin(0x20, 0x0020))));
    assert.deepEqual(
      { ...status, counter: undefined },
      { nexusScope: 0, keyScope: 2, encrypt: 2, decrypt: 2, algorithm: 1, counter: undefined, kads: [{ type: 0, value: 'backup-key-7' }] },
    );
    assert.ok(status.counter > 0);

    // DECRYPT: the encrypted blocks read back; the plain one is refused (74/02).
    good(await d.exec(REWIND));
    assert.deepEqual(
      nextBlockOf(good(await d.exec(spin(0x20, 0x0021)))),
      { object: 0, status: 3, algorithm: 0, kads: [] },
      'not encrypted',
    );
    expectSense(await d.read(1000), DATA_PROTECT, 0x74, 0x02);
    assert.deepEqual(nextBlockOf(good(await d.exec(spin(0x20, 0x0021)))), {
      object: 1,
      status: 5,
      algorithm: 1,
      kads: [{ type: 0, authenticated: 1, value: 'backup-key-7' }],
    });
    assert.ok(good(await d.read(plain.length)).equals(plain));
    assert.ok(good(await d.read(500)).equals(record(2, 500)));
    assert.equal(nextBlockOf(good(await d.exec(spin(0x20, 0x0021)))).status, 2, 'a filemark is not a logical block');

    // Without a key (decryption disabled): 74/01; the plain block reads.
    good(await d.set({ encrypt: 0, decrypt: 0, key: Buffer.alloc(32) })); // what stenc -e off sends
    good(await d.exec(REWIND));
    assert.ok(good(await d.read(1000)).equals(record(0, 1000)));
    assert.equal(nextBlockOf(good(await d.exec(spin(0x20, 0x0021)))).status, 6, 'encrypted, cannot decrypt');
    expectSense(await d.read(plain.length), DATA_PROTECT, 0x74, 0x01);

    // Another key, in MIXED mode: the plain block reads, the encrypted ones are 74/03.
    good(await d.set({ key: randomBytes(32), decrypt: 3 }));
    good(await d.exec(REWIND));
    assert.ok(good(await d.read(1000)).equals(record(0, 1000)));
    const wrong = nextBlockOf(good(await d.exec(spin(0x20, 0x0021))));
    assert.equal(wrong.status, 6, 'the wrong key cannot decrypt it');
    expectSense(await d.read(plain.length), DATA_PROTECT, 0x74, 0x03);

    // The right key again, after an unload and load (the cartridge reopened from the store).
    good(await d.set({ key, decrypt: 3 }));
    good(await d.exec([0x1b, 0, 0, 0, 0, 0]));
    good(await d.exec([0x1b, 0, 0, 0, 1, 0]));
    assert.ok(good(await d.read(1000)).equals(record(0, 1000)));
    assert.ok(good(await d.read(plain.length)).equals(plain));
  });

  it('key scope: ALL I_T NEXUS is shared, LOCAL is the nexus own, PUBLIC goes back to the shared one; the key goes with its nexus, a reset, or an unload with CKOD', async () => {
    const d = await drive();
    const keyA = randomBytes(32);
    const keyB = randomBytes(32);
    good(await d.set({ key: keyA }));
    good(await d.write(record(1, 100), B)); // B writes with A's shared key
    good(await d.set({ scope: 1, key: keyB }, B));
    assert.deepEqual(
      [
        statusOf(good(await d.exec(spin(0x20, 0x0020), { nexus: B }))).nexusScope,
        statusOf(good(await d.exec(spin(0x20, 0x0020), { nexus: B }))).keyScope,
      ],
      [1, 1],
    );
    good(await d.exec(REWIND, { nexus: B }));
    expectSense(await d.read(100, B), DATA_PROTECT, 0x74, 0x03);
    good(await d.set({ scope: 0 }, B));
    good(await d.exec(REWIND, { nexus: B }));
    assert.ok(good(await d.read(100, B)).equals(record(1, 100)), 'PUBLIC: back on the shared key');
    // A's nexus is lost: its key is gone for everyone.
    d.unit.taskManagement('i-t-nexus-loss', A);
    good(await d.exec(REWIND, { nexus: B }));
    expectSense(await d.read(100, B), DATA_PROTECT, 0x74, 0x01);
    assert.deepEqual(statusOf(good(await d.exec(spin(0x20, 0x0020), { nexus: B }))).encrypt, 0);
    // CKOD: forgotten at unload; without it the key stays loaded.
    good(await d.set({ key: keyA, ckod: true }, B));
    good(await d.exec([0x1b, 0, 0, 0, 0, 0], { nexus: B }));
    good(await d.exec([0x1b, 0, 0, 0, 1, 0], { nexus: B }));
    expectSense(await d.read(100, B), DATA_PROTECT, 0x74, 0x01);
    good(await d.set({ key: keyA }, B));
    good(await d.exec([0x1b, 0, 0, 0, 0, 0], { nexus: B }));
    good(await d.exec([0x1b, 0, 0, 0, 1, 0], { nexus: B }));
    assert.ok(good(await d.read(100, B)).equals(record(1, 100)));
    d.unit.taskManagement('lun-reset', B);
    await d.exec(TUR, { nexus: B });
    assert.equal(statusOf(good(await d.exec(spin(0x20, 0x0020), { nexus: B }))).encrypt, 0, 'a reset clears the key');
  });

  it('refuses what it does not offer, field by field, and changes nothing then', async () => {
    const d = await drive();
    const key = randomBytes(32);
    const refused = async (o: SetDataEncryption, byte: number, bit?: number) =>
      expectSense(await d.set(o), ILLEGAL_REQUEST, 0x26, 0x00, bit === undefined ? { byte } : { byte, bit });
    await refused({ key: randomBytes(16) }, 18);
    await refused({ key, algorithm: 2 }, 8);
    await refused({ key, decrypt: 1 }, 7); // RAW
    await refused({ key, encrypt: 1 }, 6); // EXTERNAL
    await refused({ key, scope: 3 }, 4, 7);
    await refused({ key, flags: 0x01 }, 5, 0); // CKORL
    await refused({ key, ukad: Buffer.alloc(33) }, 20 + 32 + 2);
    const lock = setDataEncryption({ key });
    lock[4]! |= 0x01;
    expectSense(await d.exec(spout(lock.length), { dataOut: lock }), ILLEGAL_REQUEST, 0x26, 0x00, { byte: 4, bit: 0 });
    expectSense(await d.exec(spout(10), { dataOut: setDataEncryption({ key }) }), ILLEGAL_REQUEST, 0x1a, 0x00);
    expectSense(await d.exec(spout(60, 0x0011), { dataOut: setDataEncryption({ key }) }), ILLEGAL_REQUEST, 0x24, 0x00, { byte: 2 });
    assert.equal(statusOf(good(await d.exec(spin(0x20, 0x0020)))).encrypt, 0, 'nothing was set');
    good(await d.write(record(3, 100)));
    assert.notEqual(Buffer.concat([...d.store.objects.values()]).length, 0);
  });
});
