// Protocol behaviour of the iSCSI fabric, seen from an initiator's side of the
// wire: negotiation, data transfer shapes, digests, task management, limits.
import assert from 'node:assert/strict';
import { ScsiTarget } from '../../scsi/target.ts';
import type { ScsiCommand, ScsiResponse } from '../../scsi/types.ts';
import { Opcode, RejectReason, RESERVED_TAG, TaskFunction, TaskResponse } from '../../src/iscsi/pdu.ts';
import { CountingPool } from '../helpers/counting-pool.ts';
import { cdb, DISK_TARGET, pattern, startFabric, type FabricFixture } from '../helpers/fabric.ts';
import { LIBISCSI_OFFER, LoginFailed, OPEN_ISCSI_OFFER, TestInitiator } from '../helpers/initiator.ts';
import { senseKeyAsc } from '../helpers/sense.ts';

const GOOD = 0;
const CHECK_CONDITION = 2;
const RESERVATION_CONFLICT = 0x18;

async function session(fabric: FabricFixture, keys: Record<string, string> = LIBISCSI_OFFER, isid?: Buffer): Promise<TestInitiator> {
  const initiator = await TestInitiator.connect(fabric.port);
  await initiator.login({ targetName: DISK_TARGET, keys, isid });
  // The first command after login reports the power-on unit attention.
  const first = await initiator.command(cdb.testUnitReady());
  if (first.status !== GOOD) assert.equal(senseKeyAsc(first.sense)[0], 6);
  return initiator;
}

describe('iSCSI fabric', function () {
  let fabric: FabricFixture;
  beforeEach(async () => {
    fabric = await startFabric();
  });
  afterEach(async () => {
    await fabric.stop();
  });

  describe('discovery', () => {
    it('lists the targets with their portal through SendTargets=All', async () => {
      const initiator = await TestInitiator.connect(fabric.port);
      await initiator.login({ sessionType: 'Discovery' });
      const answer = await initiator.sendTargets('All');
      assert.deepEqual(answer, [
        { key: 'TargetName', value: DISK_TARGET },
        { key: 'TargetAddress', value: `127.0.0.1:${fabric.port},1` },
      ]);
      assert.equal(await initiator.logout(), 0);
      initiator.close();
    });

    it('never picks CRC32C digests on a discovery session', async () => {
      const initiator = await TestInitiator.connect(fabric.port);
      const negotiated = await initiator.login({
        sessionType: 'Discovery',
        keys: { HeaderDigest: 'CRC32C,None', DataDigest: 'CRC32C,None' },
      });
      assert.equal(negotiated.HeaderDigest, 'None');
      assert.equal(negotiated.DataDigest, 'None');
      initiator.close();
    });

    it('refuses a login to a target that does not exist with 02/03', async () => {
      const initiator = await TestInitiator.connect(fabric.port);
      await assert.rejects(
        initiator.login({ targetName: 'iqn.2026-11.nowhere:none' }),
        (e: unknown) => e instanceof LoginFailed && e.statusClass === 2 && e.statusDetail === 3,
      );
      initiator.close();
    });
  });

  describe('negotiation and data transfer', () => {
    it("with open-iscsi's defaults, a write longer than FirstBurstLength is completed through R2T", async () => {
      const initiator = await TestInitiator.connect(fabric.port);
      const negotiated = await initiator.login({ targetName: DISK_TARGET, keys: OPEN_ISCSI_OFFER });
      assert.equal(negotiated.InitialR2T, 'No');
      assert.equal(negotiated.ImmediateData, 'Yes');
      assert.equal(negotiated.FirstBurstLength, '262144');
      assert.equal(negotiated.MaxBurstLength, '16776192');
      await initiator.command(cdb.testUnitReady());
      const data = pattern(1024 * 1024, 1);
      const write = await initiator.command(cdb.write10(100, 2048), { write: data });
      assert.equal(write.status, GOOD);
      const r2ts = write.pdus.filter((p) => p.opcode === Opcode.R2T);
      const [firstR2t] = r2ts;
      assert.ok(firstR2t, 'the rest of the write was solicited by R2T');
      assert.equal(firstR2t.bhs.readUInt32BE(40), 262144, 'the first R2T starts where the first burst ended');
      const read = await initiator.command(cdb.read10(100, 2048), { read: data.length });
      assert.equal(read.status, GOOD);
      assert.ok(read.data.equals(data));
      initiator.close();
    });

    it('with InitialR2T=Yes and ImmediateData=No, every byte of a write is solicited', async () => {
      const initiator = await session(fabric, {
        ...LIBISCSI_OFFER,
        InitialR2T: 'Yes',
        ImmediateData: 'No',
        FirstBurstLength: '65536',
        MaxBurstLength: '65536',
      });
      const data = pattern(200 * 1024, 2);
      const write = await initiator.command(cdb.write10(0, 400), { write: data });
      assert.equal(write.status, GOOD);
      const r2ts = write.pdus.filter((p) => p.opcode === Opcode.R2T);
      assert.deepEqual(
        r2ts.map((p) => [p.bhs.readUInt32BE(40), p.bhs.readUInt32BE(44), p.bhs.readUInt32BE(36)]),
        [
          [0, 65536, 0],
          [65536, 65536, 1],
          [131072, 65536, 2],
          [196608, 8192, 3],
        ],
      );
      const read = await initiator.command(cdb.read10(0, 400), { read: data.length });
      assert.ok(read.data.equals(data));
      initiator.close();
    });

    it('splits Data-In by MaxRecvDataSegmentLength and ends each MaxBurstLength sequence with F', async () => {
      const initiator = await session(fabric, {
        ...LIBISCSI_OFFER,
        MaxRecvDataSegmentLength: '16384',
        MaxBurstLength: '65536',
        FirstBurstLength: '65536',
      });
      const data = pattern(256 * 1024, 3);
      assert.equal((await initiator.command(cdb.write10(8, 512), { write: data })).status, GOOD);
      const read = await initiator.command(cdb.read10(8, 512), { read: data.length });
      assert.ok(read.data.equals(data));
      const dataIn = read.pdus.filter((p) => p.opcode === Opcode.DataIn);
      assert.equal(dataIn.length, 16);
      dataIn.forEach((pdu, i) => {
        assert.equal(pdu.data.length, 16384);
        assert.equal(pdu.bhs.readUInt32BE(36), i, 'DataSN');
        assert.equal(pdu.bhs.readUInt32BE(40), i * 16384, 'buffer offset');
        assert.equal((pdu.bhs.readUInt8(1) & 0x80) !== 0, (i + 1) % 4 === 0, `F bit on PDU ${i}`);
      });
      assert.equal(dataIn.at(-1)!.bhs.readUInt8(1) & 0x01, 1, 'status in the last Data-In');
      assert.equal(
        read.pdus.some((p) => p.opcode === Opcode.ScsiResponse),
        false,
      );
      initiator.close();
    });

    it('reports an underflow residual when the target returns less than the initiator expected', async () => {
      const initiator = await session(fabric);
      const inquiry = await initiator.command(cdb.inquiry(255), { read: 255 });
      assert.equal(inquiry.status, GOOD);
      assert.ok(inquiry.underflow);
      assert.equal(inquiry.residual, 255 - inquiry.data.length);
      initiator.close();
    });

    it('answers a NOP-Out ping with the same data', async () => {
      const initiator = await session(fabric);
      const ping = Buffer.from('are you there?');
      const reply = await initiator.nop(ping);
      assert.equal(reply?.opcode, Opcode.NopIn);
      assert.ok(reply.data.equals(ping));
      initiator.close();
    });

    it('serves 20 sessions at once, each writing and reading its own blocks', async () => {
      const initiators = await Promise.all(
        Array.from({ length: 20 }, (_, i) => session(fabric, LIBISCSI_OFFER, Buffer.from([0x80, 0, 0, 0, 0, i + 1]))),
      );
      await Promise.all(
        initiators.map(async (initiator, i) => {
          const data = pattern(64 * 1024, i);
          assert.equal((await initiator.command(cdb.write10(1000 + i * 128, 128), { write: data })).status, GOOD);
          const read = await initiator.command(cdb.read10(1000 + i * 128, 128), { read: data.length });
          assert.ok(read.data.equals(data), `session ${i} read back its data`);
        }),
      );
      for (const initiator of initiators) initiator.close();
    });
  });

  describe('digests', () => {
    it('moves data with CRC32C header and data digests when negotiated', async () => {
      const initiator = await session(fabric, { ...LIBISCSI_OFFER, HeaderDigest: 'CRC32C', DataDigest: 'CRC32C' });
      assert.equal(initiator.negotiated.HeaderDigest, 'CRC32C');
      assert.equal(initiator.negotiated.DataDigest, 'CRC32C');
      const data = pattern(300 * 1024, 4);
      assert.equal((await initiator.command(cdb.write10(0, 600), { write: data })).status, GOOD);
      const read = await initiator.command(cdb.read10(0, 600), { read: data.length });
      assert.ok(read.data.equals(data));
      initiator.close();
    });

    it('rejects a command whose data digest is wrong and fails it with ABORTED COMMAND 47/05', async () => {
      const initiator = await session(fabric, { ...LIBISCSI_OFFER, HeaderDigest: 'CRC32C', DataDigest: 'CRC32C' });
      const itt = initiator.nextItt();
      const bhs = Buffer.alloc(48);
      bhs[0] = Opcode.ScsiCommand;
      bhs[1] = 0x80 | 0x20 | 0x01;
      bhs.writeUInt32BE(itt, 16);
      bhs.writeUInt32BE(512, 20);
      bhs.writeUInt32BE(initiator.cmdSN++, 24);
      bhs.writeUInt32BE(initiator.expStatSN, 28);
      Buffer.from(cdb.write10(5, 1)).copy(bhs, 32);
      initiator.sendPdu(bhs, pattern(512, 5), { corruptDataDigest: true });
      const reject = await initiator.receive();
      assert.equal(reject?.opcode, Opcode.Reject);
      assert.equal(reject.bhs.readUInt8(2), RejectReason.DataDigestError);
      const response = await initiator.receive();
      assert.equal(response?.opcode, Opcode.ScsiResponse);
      assert.equal(response.bhs.readUInt8(3), CHECK_CONDITION);
      assert.deepEqual(senseKeyAsc(response.data.subarray(2)), [0x0b, 0x47, 0x05]);
      initiator.close();
    });

    it('rejects a Data-Out with the wrong DataSN and ends its command with ABORTED COMMAND 4B/00', async () => {
      const initiator = await session(fabric, { ...LIBISCSI_OFFER, ImmediateData: 'No', InitialR2T: 'Yes' });
      const itt = initiator.nextItt();
      const bhs = Buffer.alloc(48);
      bhs[0] = Opcode.ScsiCommand;
      bhs[1] = 0x80 | 0x20 | 0x01;
      bhs.writeUInt32BE(itt, 16);
      bhs.writeUInt32BE(1024, 20);
      bhs.writeUInt32BE(initiator.cmdSN++, 24);
      Buffer.from(cdb.write10(7, 2)).copy(bhs, 32);
      initiator.sendPdu(bhs);
      const r2t = await initiator.receive();
      assert.equal(r2t?.opcode, Opcode.R2T);
      const data = Buffer.alloc(48);
      data[0] = Opcode.DataOut;
      data[1] = 0x80;
      data.writeUInt32BE(itt, 16);
      data.writeUInt32BE(r2t.bhs.readUInt32BE(20), 20);
      data.writeUInt32BE(27, 36);
      initiator.sendPdu(data, pattern(1024, 9));
      const reject = await initiator.receive();
      assert.equal(reject?.opcode, Opcode.Reject);
      assert.equal(reject.bhs.readUInt8(2), RejectReason.ProtocolError);
      const response = await initiator.receive();
      assert.equal(response?.opcode, Opcode.ScsiResponse);
      assert.deepEqual(senseKeyAsc(response.data.subarray(2)), [0x0b, 0x4b, 0x00]);
      assert.equal((await initiator.command(cdb.testUnitReady())).status, GOOD);
      initiator.close();
    });

    it('drops the connection on a header digest error', async () => {
      const initiator = await session(fabric, { ...LIBISCSI_OFFER, HeaderDigest: 'CRC32C' });
      initiator.headerDigest = false;
      const bhs = Buffer.alloc(48);
      bhs[0] = 0x40 | Opcode.NopOut;
      bhs[1] = 0x80;
      bhs.writeUInt32BE(initiator.nextItt(), 16);
      initiator.sendPdu(bhs, Buffer.alloc(0));
      initiator.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      assert.equal(await initiator.receive(), undefined);
      assert.ok(initiator.closed);
    });
  });

  describe('command numbering', () => {
    it('ignores a command outside the CmdSN window and goes on with the next in-window one', async () => {
      const initiator = await session(fabric);
      const expected = initiator.cmdSN;
      initiator.cmdSN = (expected + 100000) >>> 0;
      const lost = initiator.command(cdb.testUnitReady(), { timeoutMs: 1000 });
      await assert.rejects(lost, /no response/);
      assert.equal(initiator.closed, false);
      initiator.cmdSN = expected;
      assert.equal((await initiator.command(cdb.testUnitReady())).status, GOOD);
      initiator.close();
    });
  });

  describe('task management', () => {
    it('answers ABORT TASK for an unknown task with "task does not exist"', async () => {
      const initiator = await session(fabric);
      assert.equal(
        await initiator.taskManagement(TaskFunction.AbortTask, { referencedTaskTag: 0x4242, refCmdSN: 0 }),
        TaskResponse.TaskDoesNotExist,
      );
      initiator.close();
    });

    it('after LUN RESET, every nexus sees a reset unit attention', async () => {
      const a = await session(fabric);
      const b = await session(fabric, LIBISCSI_OFFER, Buffer.from([0x80, 0, 0, 0, 0, 0x22]));
      assert.equal(await a.taskManagement(TaskFunction.LogicalUnitReset), TaskResponse.FunctionComplete);
      for (const initiator of [a, b]) {
        const tur = await initiator.command(cdb.testUnitReady());
        assert.equal(tur.status, CHECK_CONDITION);
        const [key, asc] = senseKeyAsc(tur.sense);
        assert.equal(key, 6);
        assert.equal(asc, 0x29);
        initiator.close();
      }
    });

    it('a dropped connection releases what its session held (its RESERVE)', async () => {
      const holder = await session(fabric);
      assert.equal((await holder.command(cdb.reserve6())).status, GOOD);
      const other = await session(fabric, LIBISCSI_OFFER, Buffer.from([0x80, 0, 0, 0, 0, 0x33]));
      assert.equal((await other.command(cdb.read10(0, 1), { read: 512 })).status, RESERVATION_CONFLICT);
      holder.close();
      for (let i = 0; i < 50; i++) {
        const read = await other.command(cdb.read10(0, 1), { read: 512 });
        if (read.status !== RESERVATION_CONFLICT) {
          // The reservation's loss may be reported once as a unit attention first.
          if (read.status === CHECK_CONDITION) assert.equal(senseKeyAsc(read.sense)[0], 6);
          other.close();
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail('the reservation outlived its connection');
    });
  });

  describe('sessions', () => {
    it('a second login from the same initiator port reinstates the session and ends the old connection', async () => {
      const isid = Buffer.from([0x80, 0, 0, 0, 0, 0x44]);
      const first = await session(fabric, LIBISCSI_OFFER, isid);
      const second = await session(fabric, LIBISCSI_OFFER, isid);
      assert.equal(await first.receive(2000).then((p) => p?.opcode ?? 'closed'), 'closed');
      assert.equal((await second.command(cdb.testUnitReady())).status, GOOD);
      second.close();
    });

    it('logout ends the session and closes the connection', async () => {
      const initiator = await session(fabric);
      assert.equal(await initiator.logout(), 0);
      assert.equal(await initiator.receive(2000), undefined);
      assert.ok(initiator.closed);
    });
  });

  describe('malformed input', () => {
    it('rejects an unknown opcode with "command not supported" and keeps the session', async () => {
      const initiator = await session(fabric);
      const bhs = Buffer.alloc(48);
      bhs[0] = 0x1a;
      bhs[1] = 0x80;
      initiator.sendPdu(bhs);
      const reject = await initiator.receive();
      assert.equal(reject?.opcode, Opcode.Reject);
      assert.equal(reject.bhs.readUInt8(2), RejectReason.CommandNotSupported);
      assert.ok(reject.data.subarray(0, 2).equals(bhs.subarray(0, 2)), 'the Reject carries the rejected header');
      assert.equal((await initiator.command(cdb.testUnitReady())).status, GOOD);
      initiator.close();
    });

    it('drops a connection that announces a data segment larger than it may send, before reading it', async () => {
      const initiator = await session(fabric);
      const bhs = Buffer.alloc(48);
      bhs[0] = 0x40 | Opcode.NopOut;
      bhs[1] = 0x80;
      bhs.writeUIntBE(0xffffff, 5, 3);
      initiator.sendRaw(bhs);
      assert.equal(await initiator.receive(), undefined);
      assert.ok(initiator.closed);
    });

    it('closes a connection whose first PDU is not a Login Request', async () => {
      const initiator = await TestInitiator.connect(fabric.port);
      const bhs = Buffer.alloc(48);
      bhs[0] = Opcode.ScsiCommand;
      initiator.sendPdu(bhs);
      assert.equal(await initiator.receive(), undefined);
      assert.ok(initiator.closed);
    });
  });
});

describe('iSCSI fabric: authentication and access', function () {
  it('CHAP one-way and mutual; a wrong secret is refused with 02/01', async () => {
    const fabric = await startFabric({
      auth: { chap: { user: 'backup', secret: 'initiatorsecret1' }, mutualChap: { user: 'gateway', secret: 'targetsecret12' } },
    });
    try {
      const ok = await TestInitiator.connect(fabric.port);
      await ok.login({
        targetName: DISK_TARGET,
        chap: { user: 'backup', secret: 'initiatorsecret1', mutual: { user: 'gateway', secret: 'targetsecret12' } },
      });
      ok.close();
      const plain = await TestInitiator.connect(fabric.port);
      await plain.login({ targetName: DISK_TARGET, chap: { user: 'backup', secret: 'initiatorsecret1' } });
      plain.close();
      const wrong = await TestInitiator.connect(fabric.port);
      await assert.rejects(
        wrong.login({ targetName: DISK_TARGET, chap: { user: 'backup', secret: 'notthesecret1' } }),
        (e: unknown) => e instanceof LoginFailed && e.statusDetail === 1,
      );
      wrong.close();
      const none = await TestInitiator.connect(fabric.port);
      await assert.rejects(
        none.login({ targetName: DISK_TARGET }),
        (e: unknown) => e instanceof LoginFailed && e.statusClass === 2 && e.statusDetail === 1,
      );
      none.close();
    } finally {
      await fabric.stop();
    }
  });

  it('an initiator outside the allow-list is refused (02/02) and does not see the target', async () => {
    const fabric = await startFabric({ allowedInitiators: ['iqn.2026-11.test:allowed'] });
    try {
      const stranger = await TestInitiator.connect(fabric.port);
      await assert.rejects(
        stranger.login({ targetName: DISK_TARGET, initiatorName: 'iqn.2026-11.test:stranger' }),
        (e: unknown) => e instanceof LoginFailed && e.statusDetail === 2,
      );
      stranger.close();
      const discovery = await TestInitiator.connect(fabric.port);
      await discovery.login({ initiatorName: 'iqn.2026-11.test:stranger' });
      assert.deepEqual(await discovery.sendTargets(), []);
      discovery.close();
      const allowed = await TestInitiator.connect(fabric.port);
      await allowed.login({ targetName: DISK_TARGET, initiatorName: 'iqn.2026-11.test:allowed' });
      allowed.close();
    } finally {
      await fabric.stop();
    }
  });
});

describe('iSCSI fabric: idle initiators', function () {
  const isPing = (pdu: { opcode: number; bhs: Buffer }): boolean =>
    pdu.opcode === Opcode.NopIn && pdu.bhs.readUInt32BE(16) === RESERVED_TAG && pdu.bhs.readUInt32BE(20) !== RESERVED_TAG;

  it('pings a silent initiator with a NOP-In and drops it when the ping goes unanswered', async () => {
    const fabric = await startFabric({ server: { nopInIntervalMs: 100, nopInTimeoutMs: 100 } });
    try {
      const initiator = await session(fabric);
      const ping = await initiator.receive(2000);
      assert.ok(ping && isPing(ping), 'a NOP-In ping');
      assert.equal(await initiator.receive(2000), undefined);
      assert.ok(initiator.closed);
    } finally {
      await fabric.stop();
    }
  });

  it('does not ping an initiator that keeps talking, and keeps one that answers its pings', async () => {
    const fabric = await startFabric({ server: { nopInIntervalMs: 200, nopInTimeoutMs: 200 } });
    try {
      const talking = await session(fabric);
      for (let i = 0; i < 30; i++) {
        const reply = await talking.nop();
        assert.ok(reply && !isPing(reply), 'only answers, no ping');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const ping = await talking.receive(2000);
      assert.ok(ping && isPing(ping), 'a ping once it falls silent');
      const answer = Buffer.alloc(48);
      answer[0] = 0x40 | Opcode.NopOut;
      answer[1] = 0x80;
      answer.writeUInt32BE(RESERVED_TAG, 16);
      answer.writeUInt32BE(ping.bhs.readUInt32BE(20), 20);
      answer.writeUInt32BE(talking.cmdSN, 24);
      answer.writeUInt32BE(talking.expStatSN, 28);
      talking.sendPdu(answer);
      const next = await talking.receive(2000);
      assert.ok(next && isPing(next), 'pinged again after another silent interval, not dropped');
      assert.equal((await talking.command(cdb.testUnitReady())).status, GOOD);
    } finally {
      await fabric.stop();
    }
  });
});

describe("@slow iSCSI fabric: a response's data buffer goes back to its logical unit", function () {
  this.timeout(30_000);
  const TARGET = 'iqn.2026-11.io.tapegateway.test:lender';
  const BYTES = 32 * 1024 * 1024;

  /** A logical unit whose READs answer from one buffer it lends with each response, counting the releases. */
  function lender(answer: (respond: () => ScsiResponse) => Promise<ScsiResponse> = async (respond) => respond()) {
    const data = pattern(BYTES, 9);
    const unit = {
      releases: 0,
      execute: (cmd: ScsiCommand): Promise<ScsiResponse> => {
        if (cmd.cdb[0] !== 0x28) return Promise.resolve({ status: GOOD });
        return answer(() => ({ status: GOOD, data, release: () => unit.releases++ }));
      },
      taskManagement: () => undefined,
    };
    return { unit, data, target: { name: TARGET, scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }) } };
  }

  it('only once the kernel has taken all of its Data-In, which an initiator that does not read holds back', async () => {
    const { unit, data, target } = lender();
    const fabric = await startFabric({ extraTargets: [target] });
    try {
      const initiator = await TestInitiator.connect(fabric.port);
      await initiator.login({ targetName: TARGET, keys: LIBISCSI_OFFER });
      initiator.socket.pause();
      const read = initiator.command(cdb.read10(0, BYTES / 512), { read: BYTES, timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(unit.releases, 0, '32 MiB cannot all be in the socket buffers of an initiator that reads nothing');
      initiator.socket.resume();
      const answer = await read;
      assert.equal(answer.status, GOOD);
      assert.ok(answer.data.equals(data));
      assert.equal(unit.releases, 1);
      initiator.close();
    } finally {
      await fabric.stop();
    }
  });

  it('at once when the connection is gone before the command ends', async () => {
    let finish = (): void => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    const { unit, target } = lender(async (respond) => {
      await ended;
      return respond();
    });
    const fabric = await startFabric({ extraTargets: [target] });
    try {
      const initiator = await TestInitiator.connect(fabric.port);
      await initiator.login({ targetName: TARGET, keys: LIBISCSI_OFFER });
      void initiator.command(cdb.read10(0, BYTES / 512), { read: BYTES, timeoutMs: 10_000 }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      initiator.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      finish();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(unit.releases, 1);
    } finally {
      await fabric.stop();
    }
  });
});

describe("iSCSI fabric: a disk's READ data in buffers of its pool", function () {
  this.timeout(60_000);
  const MiB = 1024 * 1024;

  /** Waits (at most 10 s) until `done()` holds. */
  async function until(done: () => boolean): Promise<void> {
    for (let waited = 0; !done() && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  it('reads under concurrent writes of the same blocks from four sessions answer what was written, and every buffer comes back', async () => {
    const pool = new CountingPool();
    const fabric = await startFabric({ readBuffers: pool });
    try {
      const initiators = await Promise.all([0, 1, 2, 3].map((i) => session(fabric, LIBISCSI_OFFER, Buffer.from([0x80, 0, 0, 0, 0x52, i]))));
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          initiators.map(async (initiator, i) => {
            // Each session owns 1 MiB (2,048 blocks) and checks it after every write; its neighbours' reads and writes run meanwhile.
            const data = pattern(MiB, round * 4 + i);
            assert.equal((await initiator.command(cdb.write10(i * 2048, 2048), { write: data })).status, GOOD);
            for (let k = 0; k < 3; k++) {
              const read = await initiator.command(cdb.read10(i * 2048, 2048), { read: MiB });
              assert.equal(read.status, GOOD);
              assert.ok(read.data.equals(data), `session ${i}, round ${round}: the READ answers what was written`);
            }
          }),
        );
      }
      initiators.forEach((initiator) => initiator.close());
      assert.ok(pool.taken >= 72, `every 1 MiB READ went into a buffer of the pool (${pool.taken} taken)`);
      assert.equal(pool.out, 0, 'every buffer came back once its data was sent');
    } finally {
      await fabric.stop();
    }
  });

  it("is not lent to the next READ while the socket still holds it: a slow reader's answer stays its own", async () => {
    const pool = new CountingPool();
    const fabric = await startFabric({ readBuffers: pool });
    try {
      const [slow, fast] = [await session(fabric), await session(fabric, LIBISCSI_OFFER, Buffer.from([0x80, 0, 0, 0, 0x52, 9]))];
      const [mine, theirs] = [pattern(16 * MiB, 3), pattern(16 * MiB, 4)];
      assert.equal((await slow.command(cdb.write10(0, 32768), { write: mine })).status, GOOD);
      assert.equal((await fast.command(cdb.write10(32768, 32768), { write: theirs })).status, GOOD);
      slow.socket.pause();
      const held = slow.command(cdb.read10(0, 32768), { read: 16 * MiB, timeoutMs: 20_000 });
      await until(() => pool.taken > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The same size again: a buffer given back too early would be this one, filled with the other half of the disk.
      const other = await fast.command(cdb.read10(32768, 32768), { read: 16 * MiB, timeoutMs: 20_000 });
      assert.ok(other.data.equals(theirs));
      slow.socket.resume();
      const answer = await held;
      assert.equal(answer.status, GOOD);
      assert.ok(answer.data.equals(mine), 'the slow READ answers its own blocks');
      [slow, fast].forEach((initiator) => initiator.close());
      assert.equal(pool.out, 0);
    } finally {
      await fabric.stop();
    }
  });

  it('comes back when the connection drops while its data is still queued', async () => {
    const pool = new CountingPool();
    const fabric = await startFabric({ readBuffers: pool });
    try {
      const initiator = await session(fabric);
      initiator.socket.pause();
      void initiator.command(cdb.read10(0, 32768), { read: 16 * MiB, timeoutMs: 10_000 }).catch(() => undefined);
      await until(() => pool.taken > 0);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(pool.out, 1, '16 MiB cannot all be in the socket buffers of an initiator that reads nothing');
      initiator.close();
      await until(() => pool.out === 0);
      assert.equal(pool.out, 0);
    } finally {
      await fabric.stop();
    }
  });
});

describe("iSCSI fabric: a write command's data buffer held by its logical unit", function () {
  this.timeout(30_000);
  const TARGET = 'iqn.2026-11.io.tapegateway.test:holder';

  it('is not lent to another command until the unit releases it', async () => {
    const seen: Buffer[] = [];
    let release = (): void => undefined;
    const unit = {
      execute: async (cmd: ScsiCommand): Promise<ScsiResponse> => {
        if (cmd.cdb[0] !== 0x2a) return { status: GOOD };
        seen.push(cmd.dataOut);
        if (seen.length === 1) release = cmd.holdDataOut!();
        return { status: GOOD };
      },
      taskManagement: () => undefined,
    };
    const fabric = await startFabric({ extraTargets: [{ name: TARGET, scsi: new ScsiTarget({ luns: [{ lun: 0, unit }] }) }] });
    try {
      const initiator = await TestInitiator.connect(fabric.port);
      await initiator.login({ targetName: TARGET, keys: LIBISCSI_OFFER });
      const first = pattern(256 * 1024, 1);
      const second = pattern(256 * 1024, 2);
      assert.equal((await initiator.command(cdb.write10(0, 512), { write: first })).status, GOOD);
      assert.equal((await initiator.command(cdb.write10(0, 512), { write: second })).status, GOOD);
      assert.notEqual(seen[1]!.buffer, seen[0]!.buffer, 'the held buffer is not lent again');
      assert.ok(seen[0]!.equals(first), 'and keeps what the first command wrote');
      release();
      release();
      for (let i = 3; i <= 4; i++)
        assert.equal((await initiator.command(cdb.write10(0, 512), { write: pattern(256 * 1024, i) })).status, GOOD);
      assert.ok(
        seen.slice(2).some((b) => b.buffer === seen[0]!.buffer),
        'once released, it serves later commands',
      );
      initiator.close();
    } finally {
      await fabric.stop();
    }
  });
});

describe('@slow iSCSI fabric: an initiator that does not read', function () {
  this.timeout(30_000);

  it('gets no more command window while its unread responses pile up', async () => {
    const WINDOW = 32;
    const fabric = await startFabric({ server: { limits: { commandWindow: WINDOW } } });
    try {
      const initiator = await session(fabric);
      const blocks = 2048; // 1 MiB reads
      const sendRead = (): void => {
        const bhs = Buffer.alloc(48);
        bhs[0] = Opcode.ScsiCommand;
        bhs[1] = 0x80 | 0x40 | 0x01;
        bhs.writeUInt32BE(initiator.nextItt(), 16);
        bhs.writeUInt32BE(blocks * 512, 20);
        bhs.writeUInt32BE(initiator.cmdSN, 24);
        initiator.cmdSN = (initiator.cmdSN + 1) >>> 0;
        bhs.writeUInt32BE(initiator.expStatSN, 28);
        Buffer.from(cdb.read10(0, blocks)).copy(bhs, 32);
        initiator.sendPdu(bhs);
      };
      initiator.socket.pause();
      for (let i = 0; i < WINDOW; i++) sendRead();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // A window's worth more, each within the window only if finished commands widened it.
      for (let i = 0; i < WINDOW; i++) sendRead();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      initiator.socket.resume();
      let answered = 0;
      for (let pdu = await initiator.receive(3000); pdu; pdu = await initiator.receive(3000)) {
        if ((pdu.opcode === Opcode.DataIn && pdu.bhs.readUInt8(1) & 0x01) || pdu.opcode === Opcode.ScsiResponse) answered++;
      }
      assert.ok(answered >= WINDOW, `the first window's commands are all answered (${answered})`);
      assert.ok(answered < 2 * WINDOW, `the window stopped widening while ${WINDOW} MiB sat unread (${answered} answered)`);
    } finally {
      await fabric.stop();
    }
  });
});
