// Property-based robustness: random and mutated PDUs and CDBs never crash or
// hang the target; malformed input gets a Reject or a closed connection, a bad
// CDB a CHECK CONDITION with sense.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BHS_LENGTH, Opcode } from '../../src/iscsi/pdu.ts';
import { cdb as cdbs, DISK_TARGET, startFabric, type FabricFixture } from '../helpers/fabric.ts';
import { TestInitiator } from '../helpers/initiator.ts';

const GOOD = 0;
const CHECK_CONDITION = 2;

async function loggedIn(fabric: FabricFixture): Promise<TestInitiator> {
  const initiator = await TestInitiator.connect(fabric.port);
  await initiator.login({ targetName: DISK_TARGET });
  await initiator.command(cdbs.testUnitReady());
  return initiator;
}

/** The target still answers: a ping comes back, or the connection was closed on purpose. */
async function answersOrClosed(initiator: TestInitiator): Promise<void> {
  if (initiator.closed) return;
  const reply = await initiator.nop(Buffer.from('alive?')).catch(() => undefined);
  if (initiator.closed) return;
  assert.ok(reply, 'the target neither answered nor closed the connection');
}

function template(opcode: Opcode, initiator: TestInitiator): Buffer {
  const bhs = Buffer.alloc(BHS_LENGTH);
  bhs[0] = opcode;
  bhs[1] = 0x80;
  bhs.writeUInt32BE(initiator.nextItt(), 16);
  bhs.writeUInt32BE(initiator.cmdSN, 24);
  bhs.writeUInt32BE(initiator.expStatSN, 28);
  if (opcode === Opcode.ScsiCommand) Buffer.from(cdbs.read10(0, 1)).copy(bhs, 32);
  return bhs;
}

const OPCODES = [
  Opcode.NopOut,
  Opcode.ScsiCommand,
  Opcode.TaskManagementRequest,
  Opcode.TextRequest,
  Opcode.DataOut,
  Opcode.LogoutRequest,
  Opcode.Snack,
  Opcode.LoginRequest,
];

describe('iSCSI fabric under random input', function () {
  this.timeout(120_000);
  let fabric: FabricFixture;
  before(async () => {
    fabric = await startFabric();
  });
  after(async () => {
    await fabric.stop();
  });

  afterEach(async () => {
    // Whatever happened, the server still logs in a new initiator and serves it.
    const check = await loggedIn(fabric);
    assert.equal((await check.command(cdbs.testUnitReady())).status, GOOD);
    check.close();
  });

  it('random bytes before login end in a login reject or a closed connection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
        const initiator = await TestInitiator.connect(fabric.port);
        initiator.sendRaw(Buffer.from(bytes));
        initiator.socket.end();
        for (let pdu = await initiator.receive(2000); pdu; pdu = await initiator.receive(2000)) {
          assert.equal(pdu.opcode, Opcode.LoginResponse);
        }
        initiator.close();
      }),
      { numRuns: 60 },
    );
  });

  it('mutated PDUs in full feature phase get a Reject, an answer or a closed connection, never a hang', async () => {
    let initiator = await loggedIn(fabric);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...OPCODES),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: BHS_LENGTH - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 64 }),
        async (opcode, mutations, data) => {
          if (initiator.closed) initiator = await loggedIn(fabric);
          const bhs = template(opcode, initiator);
          // Keep the announced data length honest so the target is not left waiting for bytes.
          for (const { at, value } of mutations) if (at < 4 || at > 7) bhs[at] = value;
          bhs[4] = 0;
          initiator.sendPdu(bhs, Buffer.from(data));
          await answersOrClosed(initiator);
        },
      ),
      { numRuns: 300 },
    );
    initiator.close();
  });

  it('random CDBs get GOOD or CHECK CONDITION with well-formed sense, never an internal failure', async () => {
    const initiator = await loggedIn(fabric);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom(0x00, 0x03, 0x12, 0x1a, 0x25, 0x28, 0x2f, 0x35, 0x5a, 0x5e, 0x88, 0x8f, 0x9e, 0xa0, 0xa3),
        ),
        fc.uint8Array({ minLength: 15, maxLength: 15 }),
        fc.integer({ min: 0, max: 8192 }),
        async (opcode, rest, allocation) => {
          const command = Buffer.concat([Buffer.from([opcode]), Buffer.from(rest)]);
          // Only commands that read: writes could ask for more data than we send.
          const result = await initiator.command(command, { read: allocation });
          assert.ok([GOOD, CHECK_CONDITION, 0x18].includes(result.status), `status 0x${result.status.toString(16)}`);
          assert.ok(result.data.length <= allocation, 'no more data than the initiator asked for');
          if (result.status === CHECK_CONDITION) {
            const format = result.sense.readUInt8(0) & 0x7f;
            assert.ok(format === 0x70 || format === 0x72, `sense response code 0x${format.toString(16)}`);
            const key = format === 0x70 ? result.sense.readUInt8(2) & 0x0f : result.sense.readUInt8(1) & 0x0f;
            const asc = format === 0x70 ? result.sense.readUInt8(12) : result.sense.readUInt8(2);
            assert.ok(!(key === 0x04 && asc === 0x44), 'no INTERNAL TARGET FAILURE: the command raised an exception');
          }
        },
      ),
      { numRuns: 400 },
    );
    initiator.close();
  });
});
