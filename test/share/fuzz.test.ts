// Property-based robustness of the RPC and XDR layer: random and mutated
// records never crash or hang the NFS server; each gets a reply or a closed
// connection, and the server goes on serving. The decoders throw XdrError on
// bad input and nothing else.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { NFS_PROGRAM, NFS_V3, readFattr, readSattr } from '../../src/share/nfs/nfs3-xdr.ts';
import { AcceptStat, decodeAuthSys, decodeCall, decodeReply, encodeCall } from '../../src/share/rpc/message.ts';
import { RecordError, RecordReader } from '../../src/share/rpc/record-marking.ts';
import { XdrError, XdrReader } from '../../src/share/rpc/xdr.ts';
import { NfsTestClient } from '../helpers/nfs-client.ts';
import { startNfsShare, type NfsShareFixture } from '../helpers/nfs-share.ts';
import { RpcTestClient } from '../helpers/rpc-client.ts';

const FIXTURES = new URL('../../fixtures/nfs/ganesha/', import.meta.url);
const captured = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('-call.hex'))
  .map((name) => Buffer.from(readFileSync(new URL(name, FIXTURES), 'utf8').trim(), 'hex'));

/** Only XdrError may come out of a decoder. */
function decodesOrRefuses(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    if (!(err instanceof XdrError)) throw err;
  }
}

describe('RPC and XDR under random input', function () {
  this.timeout(120_000);
  let share: NfsShareFixture;
  let root: Buffer;

  before(async () => {
    share = await startNfsShare();
    const client = await NfsTestClient.connect(share.addresses.nfsPort);
    root = (await client.mount('/files')).handle!;
    await client.create(root, 'f', { mode: 1 });
    client.close();
  });
  after(async () => {
    await share.stop();
  });
  afterEach(async () => {
    const check = await NfsTestClient.connect(share.addresses.nfsPort);
    assert.equal((await check.getattr(root)).status, 0, 'the server still serves');
    check.close();
  });

  it('decoders throw XdrError and nothing else on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        decodesOrRefuses(() => decodeCall(buffer));
        decodesOrRefuses(() => decodeReply(buffer));
        decodesOrRefuses(() => decodeAuthSys(buffer));
        decodesOrRefuses(() => readSattr(new XdrReader(buffer)));
        decodesOrRefuses(() => readFattr(new XdrReader(buffer)));
      }),
      { numRuns: 2000 },
    );
  });

  it('the record reader frames or refuses any byte stream, never allocating past its limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 50 }), (bytes, step) => {
        const reader = new RecordReader(256);
        try {
          for (let at = 0; at < bytes.length; at += step) {
            reader.push(Buffer.from(bytes.subarray(at, at + step)));
            for (let r = reader.next(); r; r = reader.next()) assert.ok(r.length <= 256);
          }
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes on the NFS port get replies or a closed connection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), async (bytes) => {
        const client = await RpcTestClient.connect(share.addresses.nfsPort);
        client.sendRaw(Buffer.from(bytes));
        client.socket.end();
        while (await client.receive(1000));
        client.close();
      }),
      { numRuns: 60 },
    );
  });

  it("libnfs's calls, mutated, get a reply or a closed connection, never a crash", async () => {
    let client = await RpcTestClient.connect(share.addresses.nfsPort);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...captured),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: -16, max: 16 }),
        async (call, mutations, resize) => {
          const record = Buffer.from(call.subarray(0, Math.max(4, call.length + Math.min(0, resize))));
          for (const { at, value } of mutations) record[at % record.length] = value;
          const grown = resize > 0 ? Buffer.concat([record, Buffer.alloc(resize, 0xa5)]) : record;
          if (client.closed) client = await RpcTestClient.connect(share.addresses.nfsPort);
          client.sendRecord(grown);
          const reply = await client.receive(3000);
          if (reply) decodeReply(reply);
          else assert.ok(client.closed, 'neither a reply nor a closed connection');
        },
      ),
      { numRuns: 300 },
    );
    client.close();
  });

  it('NFS calls with random arguments get an answer', async () => {
    const client = await RpcTestClient.connect(share.addresses.nfsPort);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 21 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.boolean(),
        async (procedure, args, withRoot) => {
          const writer = encodeCall({ xid: 1, program: NFS_PROGRAM, version: NFS_V3, procedure });
          if (withRoot) writer.opaque(root);
          writer.fixedOpaque(Buffer.from(args));
          client.sendRecord(writer.toBuffer());
          const reply = await client.receive(3000);
          assert.ok(reply, `procedure ${procedure} got no answer`);
          const decoded = decodeReply(reply);
          assert.ok(
            decoded.kind === 'success' || (decoded.kind === 'accept-error' && decoded.stat === AcceptStat.GarbageArgs),
            `procedure ${procedure}: ${JSON.stringify(decoded)}`,
          );
        },
      ),
      { numRuns: 400 },
    );
    client.close();
  });
});
