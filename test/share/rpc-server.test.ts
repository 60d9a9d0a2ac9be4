// The RPC server's own answers (RFC 5531) and the port mapper (RFC 1833), over
// TCP with the test RPC client: wrong programs, versions, procedures,
// arguments and credentials get the protocol's errors; streams that cannot be
// framed are dropped; the server goes on serving.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { silentLogger } from '../../src/log.ts';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../../src/share/nfs/mount-program.ts';
import { NFS_PROGRAM, NFS_V3 } from '../../src/share/nfs/nfs3-xdr.ts';
import { AcceptStat, AuthStat, decodeReply, encodeCall } from '../../src/share/rpc/message.ts';
import { IPPROTO_TCP, PMAP_PROGRAM, PMAP_VERSION, readMapping } from '../../src/share/rpc/portmap.ts';
import { RpcServer } from '../../src/share/rpc/server.ts';
import { XdrWriter, type XdrReader } from '../../src/share/rpc/xdr.ts';
import { startNfsShare, type NfsShareFixture } from '../helpers/nfs-share.ts';
import { RpcTestClient } from '../helpers/rpc-client.ts';

describe('RPC server', () => {
  let share: NfsShareFixture;
  let client: RpcTestClient;

  before(async () => {
    share = await startNfsShare({ portmap: true });
  });
  after(async () => {
    await share.stop();
  });
  beforeEach(async () => {
    client = await RpcTestClient.connect(share.addresses.nfsPort);
  });
  afterEach(async () => {
    client.close();
    // Whatever the test sent, the server still answers a new client.
    const check = await RpcTestClient.connect(share.addresses.nfsPort);
    assert.equal((await check.call(NFS_PROGRAM, NFS_V3, 0)).kind, 'success');
    check.close();
  });

  it('answers NULL', async () => {
    const reply = await client.call(NFS_PROGRAM, NFS_V3, 0);
    assert.equal(reply.kind, 'success');
  });

  it('answers PROG_UNAVAIL for a program it does not serve', async () => {
    assert.deepEqual(await client.call(100021, 4, 0), { xid: 1001, kind: 'accept-error', stat: AcceptStat.ProgUnavail });
  });

  it('answers PROG_MISMATCH with the versions it serves', async () => {
    const reply = await client.call(NFS_PROGRAM, 4, 0);
    assert.deepEqual(reply, { xid: 1001, kind: 'accept-error', stat: AcceptStat.ProgMismatch, low: 3, high: 3 });
    const mount = await client.call(MOUNT_PROGRAM, 1, 0);
    assert.deepEqual(mount, { xid: 1002, kind: 'accept-error', stat: AcceptStat.ProgMismatch, low: 3, high: 3 });
  });

  it('answers PROC_UNAVAIL for procedure 22 of NFSv3 and 6 of MOUNT', async () => {
    assert.equal((await client.call(NFS_PROGRAM, NFS_V3, 22)).kind, 'accept-error');
    const reply = await client.call(MOUNT_PROGRAM, MOUNT_V3, 6);
    assert.deepEqual(reply, { xid: 1002, kind: 'accept-error', stat: AcceptStat.ProcUnavail });
  });

  it('answers GARBAGE_ARGS when the arguments do not decode', async () => {
    const reply = await client.call(NFS_PROGRAM, NFS_V3, 1, (w) => w.uint32(1000));
    assert.deepEqual(reply, { xid: 1001, kind: 'accept-error', stat: AcceptStat.GarbageArgs });
    const mount = await client.call(MOUNT_PROGRAM, MOUNT_V3, 1, (w) => w.uint32(5).uint32(0));
    assert.deepEqual(mount, { xid: 1002, kind: 'accept-error', stat: AcceptStat.GarbageArgs });
  });

  it('answers RPC_MISMATCH for RPC version 3', async () => {
    client.sendRecord(encodeCall({ xid: 5, program: NFS_PROGRAM, version: NFS_V3, procedure: 0, rpcVersion: 3 }).toBuffer());
    const record = await client.receive();
    assert.deepEqual(record, Buffer.from('00000005000000010000000100000000000000020000000' + '2', 'hex'));
  });

  it('answers AUTH_ERROR (AUTH_BADCRED) for RPCSEC_GSS and for a malformed AUTH_SYS credential', async () => {
    const gss = await client.call(NFS_PROGRAM, NFS_V3, 0, undefined, { flavor: 6, body: Buffer.alloc(8) });
    assert.deepEqual(gss, { xid: 1001, kind: 'auth-error', stat: AuthStat.BadCred });
    const bad = await client.call(NFS_PROGRAM, NFS_V3, 0, undefined, { flavor: 1, body: Buffer.from('00000001ffffffff', 'hex') });
    assert.deepEqual(bad, { xid: 1002, kind: 'auth-error', stat: AuthStat.BadCred });
  });

  it('drops the connection when a fragment claims more than the largest record', async () => {
    client.sendRaw(Buffer.from('ffffffff', 'hex'));
    assert.equal(await client.receive(), undefined);
    assert.ok(client.closed);
  });

  it('drops the connection when a record is a reply, not a call', async () => {
    client.sendRecord(Buffer.from('000000070000000100000000', 'hex'));
    assert.equal(await client.receive(), undefined);
    assert.ok(client.closed);
  });

  it('serves many calls in one TCP segment and answers each', async () => {
    const records = [1, 2, 3].map((xid) => encodeCall({ xid, program: NFS_PROGRAM, version: NFS_V3, procedure: 0 }).toBuffer());
    client.sendRaw(Buffer.concat(records.flatMap((r) => [Buffer.from([0x80, 0, 0, r.length]), r])));
    const xids = [];
    for (let i = 0; i < 3; i++) xids.push((await client.receive())!.readUInt32BE(0));
    assert.deepEqual(xids.sort(), [1, 2, 3]);
  });
});

describe('port mapper (RFC 1833, version 2)', () => {
  let share: NfsShareFixture;
  let client: RpcTestClient;
  before(async () => {
    share = await startNfsShare({ portmap: true });
    client = await RpcTestClient.connect(share.addresses.portmapPort!);
  });
  after(async () => {
    client.close();
    await share.stop();
  });

  const getport = async (program: number, version: number) => {
    const reply = await client.call(PMAP_PROGRAM, PMAP_VERSION, 3, (w) => w.uint32(program).uint32(version).uint32(IPPROTO_TCP).uint32(0));
    assert.equal(reply.kind, 'success');
    return reply.kind === 'success' ? reply.results.uint32() : -1;
  };

  it('gives the NFS and MOUNT ports, and 0 for what is not registered', async () => {
    assert.equal(await getport(NFS_PROGRAM, NFS_V3), share.addresses.nfsPort);
    assert.equal(await getport(MOUNT_PROGRAM, MOUNT_V3), share.addresses.mountPort);
    assert.equal(await getport(NFS_PROGRAM, 4), 0);
    assert.equal(await getport(100021, 4), 0);
  });

  it('lists its mappings with DUMP, itself included', async () => {
    const reply = await client.call(PMAP_PROGRAM, PMAP_VERSION, 4);
    assert.equal(reply.kind, 'success');
    if (reply.kind !== 'success') return;
    const mappings = [];
    while (reply.results.bool()) mappings.push(readMapping(reply.results));
    assert.deepEqual(
      mappings.map((m) => [m.program, m.version, m.protocol, m.port]).sort(),
      [
        [NFS_PROGRAM, 3, 6, share.addresses.nfsPort],
        [MOUNT_PROGRAM, 3, 6, share.addresses.mountPort],
        [PMAP_PROGRAM, 2, 6, share.addresses.portmapPort],
      ].sort(),
    );
  });

  it('takes SET from this machine and refuses one that would replace a mapping', async () => {
    const set = (port: number) =>
      client.call(PMAP_PROGRAM, PMAP_VERSION, 1, (w) => w.uint32(400100).uint32(1).uint32(IPPROTO_TCP).uint32(port));
    const first = await set(777);
    assert.ok(first.kind === 'success' && first.results.bool());
    const second = await set(778);
    assert.ok(second.kind === 'success' && !second.results.bool());
    assert.equal(await getport(400100, 1), 777);
    const unset = await client.call(PMAP_PROGRAM, PMAP_VERSION, 2, (w) => w.uint32(400100).uint32(1).uint32(IPPROTO_TCP).uint32(0));
    assert.ok(unset.kind === 'success' && unset.results.bool());
    assert.equal(await getport(400100, 1), 0);
  });

  it('does not serve CALLIT (an amplifier) nor rpcbind versions 3 and 4', async () => {
    assert.equal((await client.call(PMAP_PROGRAM, PMAP_VERSION, 5)).kind, 'accept-error');
    const v4 = await client.call(PMAP_PROGRAM, 4, 3);
    assert.deepEqual(v4, { xid: v4.xid, kind: 'accept-error', stat: AcceptStat.ProgMismatch, low: 2, high: 2 });
  });
});

describe('RPC server memory reuse', () => {
  const PROGRAM = 0x2000_0001;
  let server: RpcServer;
  let port: number;
  let doneHooks = 0;
  const big = Buffer.alloc(256 * 1024, 7);

  before(async () => {
    const procedures = new Map([
      // The SHA-256 of the call's argument, answered after the next call has arrived (its record reuses memory freed by the first).
      [
        1,
        {
          name: 'HASH',
          handler: async (args: XdrReader) =>
            new XdrWriter().opaque(
              await later(
                createHash('sha256')
                  .update(args.opaque(4 << 20))
                  .digest(),
              ),
            ),
        },
      ],
      // A large reply lent to the writer: its owner hears when the bytes have gone out.
      [2, { name: 'LEND', handler: () => new XdrWriter().opaque(big).whenDone(() => doneHooks++) }],
    ]);
    server = new RpcServer({ programs: [{ program: PROGRAM, version: 1, name: 'test', procedures }], logger: silentLogger() });
    port = await server.listen('127.0.0.1', 0);
  });
  after(async () => {
    await server.close();
  });

  it('answers calls of a megabyte each, in flight together, each from its own bytes', async () => {
    const client = await RpcTestClient.connect(port);
    try {
      const payloads = [1, 2, 3].map((n) => Buffer.alloc(1 << 20, n));
      for (const [i, payload] of payloads.entries()) {
        const writer = encodeCall({ xid: 100 + i, program: PROGRAM, version: 1, procedure: 1, cred: { flavor: 0, body: Buffer.alloc(0) } });
        client.sendRecord(writer.opaque(payload).toBuffer());
      }
      for (const [i, payload] of payloads.entries()) {
        const reply = decodeReply((await client.receive())!);
        assert.equal(reply.kind, 'success');
        assert.equal(reply.xid, 100 + i);
        if (reply.kind === 'success') assert.deepEqual(reply.results.opaque(64), createHash('sha256').update(payload).digest());
      }
    } finally {
      client.close();
    }
  });

  it('tells the owner of a reply lent to it once the reply has been written out, once', async () => {
    const client = await RpcTestClient.connect(port);
    try {
      const reply = await client.call(PROGRAM, 1, 2);
      assert.equal(reply.kind, 'success');
      if (reply.kind === 'success') assert.ok(reply.results.opaque(1 << 20).equals(big));
      // The server's write callback and the client's read are both events of this process: either may come first.
      for (const end = Date.now() + 5_000; doneHooks === 0 && Date.now() < end;) await later(undefined);
      assert.equal(doneHooks, 1);
    } finally {
      client.close();
    }
  });
});

/** The value, on a later turn of the event loop. */
function later<T>(value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), 20));
}
