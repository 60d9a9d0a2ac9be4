// The XDR and ONC RPC codec, byte for byte: layouts from RFC 4506 and RFC 5531,
// and records libnfs and nfs-ganesha exchanged (fixtures/nfs/ganesha/, captured
// with scripts/share/capture-relay.ts), decoded and encoded again unchanged.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeHandle, decodeHandle } from '../../src/share/nfs/file-handle.ts';
import { readFattr, readHandle, readName, readSattr, writeFattr, NFS_PROGRAM } from '../../src/share/nfs/nfs3-xdr.ts';
import {
  AcceptStat,
  AuthFlavor,
  AuthStat,
  decodeAuthSys,
  decodeCall,
  decodeReply,
  encodeAcceptError,
  encodeAuthError,
  encodeAuthSys,
  encodeCall,
  encodeProgMismatch,
  encodeRpcMismatch,
  encodeSuccess,
} from '../../src/share/rpc/message.ts';
import { RecordError, RecordReader, recordMark } from '../../src/share/rpc/record-marking.ts';
import { XdrError, XdrReader, XdrWriter } from '../../src/share/rpc/xdr.ts';
import type { NodeRecord } from '../../src/share/fs/node-table.ts';
import { must } from '../../src/must.ts';
import { pattern } from '../helpers/fabric.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const fixture = (name: string) => hex(readFileSync(new URL(`../../fixtures/nfs/ganesha/${name}.hex`, import.meta.url), 'utf8'));

describe('XDR (RFC 4506)', () => {
  it('writes integers, hypers, bools, padded opaque data and strings as the RFC lays them out', () => {
    const writer = new XdrWriter(4);
    writer
      .uint32(0xdeadbeef)
      .int32(-2)
      .uint64(0x0102030405060708n)
      .uint64(0x0a0b0c0d0e0f)
      .bool(true)
      .opaque(Buffer.from('hello'))
      .string('ab')
      .fixedOpaque(Buffer.from([9]));
    assert.deepEqual(
      writer.toBuffer(),
      hex(`deadbeef fffffffe 0102030405060708 00000a0b0c0d0e0f 00000001 00000005 68656c6c6f000000 00000002 61620000 09000000`),
    );
  });

  it('keeps large opaque data as a piece of its own, padded, without copying it', () => {
    const data = Buffer.alloc(XdrWriter.ZERO_COPY_MIN + 1, 7);
    const writer = new XdrWriter().uint32(1).opaque(data).uint32(2);
    const pieces = writer.buffers();
    assert.ok(pieces.includes(data), 'the data is one of the pieces');
    const joined = Buffer.concat(pieces);
    assert.equal(joined.length, 4 + 4 + data.length + 3 + 4);
    assert.deepEqual(joined.subarray(-7), hex('000000 00000002'));
  });

  it('reads back what it wrote', () => {
    const reader = new XdrReader(
      hex(`deadbeef fffffffe 0102030405060708 00000001 00000005 68656c6c6f000000 00000000 00000002 00000007 00000008`),
    );
    assert.equal(reader.uint32(), 0xdeadbeef);
    assert.equal(reader.int32(), -2);
    assert.equal(reader.uint64(), 0x0102030405060708n);
    assert.equal(reader.bool(), true);
    assert.equal(reader.opaque(5).toString(), 'hello');
    assert.equal(
      reader.optional((r) => r.uint32()),
      undefined,
    );
    assert.deepEqual(
      reader.array(2, (r) => r.uint32()),
      [7, 8],
    );
    assert.equal(reader.remaining, 0);
  });

  it('refuses lengths beyond the limit or the data before allocating, bools other than 0 and 1, and short input', () => {
    assert.throws(() => new XdrReader(hex('ffffffff')).opaque(1024), XdrError);
    assert.throws(() => new XdrReader(hex('00000005 6865')).opaque(1024), XdrError);
    assert.throws(() => new XdrReader(hex('00000005 68656c6c6f000000')).opaque(4), /exceeds its limit of 4/);
    assert.throws(() => new XdrReader(hex('00000002')).bool(), /0 or 1/);
    assert.throws(() => new XdrReader(hex('0000')).uint32(), XdrError);
    assert.throws(() => new XdrReader(hex('7fffffff')).array(1_000_000_000, (r) => r.uint32()), XdrError);
    assert.throws(() => new XdrReader(hex('00000003 00000001')).array(16, (r) => r.uint32()), XdrError);
    assert.throws(() => new XdrReader(hex('0020000000000000')).uint64Number(), /larger than this server handles/);
  });
});

describe('RPC record marking (RFC 5531 section 11)', () => {
  it('assembles a record from fragments split anywhere', () => {
    const stream = Buffer.concat([
      hex('00000003'),
      Buffer.from('abc'),
      hex('80000002'),
      Buffer.from('de'),
      recordMark(1),
      Buffer.from('z'),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new RecordReader(100);
      reader.push(stream.subarray(0, cut));
      const records: string[] = [];
      for (let r = reader.next(); r; r = reader.next()) records.push(r.toString());
      reader.push(stream.subarray(cut));
      for (let r = reader.next(); r; r = reader.next()) records.push(r.toString());
      assert.deepEqual(records, ['abcde', 'z'], `cut at ${cut}`);
    }
  });

  it('copies out what it keeps: every chunk may come through the same memory', () => {
    const stream = Buffer.concat([
      recordMark(5),
      Buffer.from('hello'),
      recordMark(3),
      Buffer.from('abc'),
      recordMark(2),
      Buffer.from('xy'),
    ]);
    const shared = Buffer.alloc(3);
    const reader = new RecordReader(100);
    const records: Buffer[] = [];
    for (let at = 0; at < stream.length; at += shared.length) {
      const n = stream.copy(shared, 0, at, at + shared.length);
      reader.push(shared.subarray(0, n));
      for (let r = reader.next(); r; r = reader.next()) records.push(r);
      shared.fill(0xee);
    }
    assert.deepEqual(
      records.map((r) => r.toString()),
      ['hello', 'abc', 'xy'],
    );
  });

  it("has a large fragment's rest read straight into its record, then the next mark, and a small record copied as before", () => {
    const big = pattern(100_000, 7);
    const reader = new RecordReader(200_000);
    reader.push(Buffer.concat([recordMark(big.length), big.subarray(0, 1000)]));
    assert.equal(reader.next(), undefined);
    const rest = reader.directTarget();
    assert.equal(rest?.length, big.length - 1000, 'the rest of the fragment, and no further');
    big.copy(must(rest, 'the rest of the fragment'), 0, 1000, 50_000);
    reader.landed(49_000);
    assert.equal(reader.next(), undefined);
    const last = must(reader.directTarget(), 'the last part of the fragment');
    assert.equal(last.length, big.length - 50_000);
    big.copy(last, 0, 50_000);
    reader.landed(last.length);
    const record = must(reader.next(), 'the record');
    assert.ok(record.equals(big));
    assert.equal(record.buffer, last.buffer, 'the bytes were read to where the record is');
    assert.equal(reader.directTarget()?.length, 4, 'then the mark alone');
    reader.push(Buffer.concat([recordMark(2), Buffer.from('ok')]));
    assert.equal(reader.next()?.toString(), 'ok');
    assert.equal(reader.directTarget(), undefined, 'after a small record, reads go to the shared buffer');
  });

  it('refuses a fragment claiming more than the limit as soon as its mark arrives', () => {
    const reader = new RecordReader(1024);
    reader.push(hex('ffffffff'));
    assert.throws(() => reader.next(), RecordError);
  });

  it('refuses a record whose fragments add up past the limit', () => {
    const reader = new RecordReader(10);
    reader.push(Buffer.concat([hex('00000008'), Buffer.alloc(8), hex('80000004')]));
    assert.throws(() => reader.next(), /more than 10 bytes/);
  });

  it('writes the last-fragment bit and the length', () => {
    assert.deepEqual(recordMark(0x1234), hex('80001234'));
  });
});

describe('RPC messages (RFC 5531)', () => {
  it('encodes a call with AUTH_SYS exactly as libnfs sent its MOUNT call to nfs-ganesha', () => {
    const captured = fixture('mount-mnt-call');
    const call = decodeCall(captured);
    assert.equal(call.program, 100005);
    assert.equal(call.version, 3);
    assert.equal(call.procedure, 1);
    assert.equal(call.cred.flavor, AuthFlavor.Sys);
    const auth = decodeAuthSys(call.cred.body);
    assert.deepEqual({ ...auth, stamp: 0 }, { stamp: 0, machineName: 'libnfs', uid: 0, gid: 0, gids: [] });
    const path = call.args.string(1024);
    assert.equal(path, '/tmp/gan/export');
    const again = encodeCall({
      xid: call.xid,
      program: call.program,
      version: call.version,
      procedure: call.procedure,
      cred: { flavor: AuthFlavor.Sys, body: encodeAuthSys(auth) },
    }).string(path);
    assert.deepEqual(again.toBuffer(), captured);
  });

  it("encodes the NULL reply exactly as nfs-ganesha's", () => {
    const call = decodeCall(fixture('nfs-null-call'));
    assert.deepEqual(encodeSuccess(call.xid).toBuffer(), fixture('nfs-null-reply'));
  });

  it('encodes the protocol errors as RFC 5531 lays them out', () => {
    assert.deepEqual(encodeAcceptError(7, AcceptStat.ProgUnavail).toBuffer(), hex('00000007 00000001 00000000 00000000 00000000 00000001'));
    assert.deepEqual(
      encodeProgMismatch(7, 3, 3).toBuffer(),
      hex('00000007 00000001 00000000 00000000 00000000 00000002 00000003 00000003'),
    );
    assert.deepEqual(encodeAcceptError(7, AcceptStat.GarbageArgs).toBuffer(), hex('00000007 00000001 00000000 00000000 00000000 00000004'));
    assert.deepEqual(encodeRpcMismatch(7).toBuffer(), hex('00000007 00000001 00000001 00000000 00000002 00000002'));
    assert.deepEqual(encodeAuthError(7, AuthStat.BadCred).toBuffer(), hex('00000007 00000001 00000001 00000001 00000001'));
    const decoded = decodeReply(encodeProgMismatch(9, 2, 4).toBuffer());
    assert.deepEqual(decoded, { xid: 9, kind: 'accept-error', stat: AcceptStat.ProgMismatch, low: 2, high: 4 });
  });

  it('refuses an AUTH_SYS credential with more than 16 groups or bytes after it', () => {
    const body = new XdrWriter().uint32(1).string('m').uint32(0).uint32(0).uint32(17).toBuffer();
    assert.throws(() => decodeAuthSys(Buffer.concat([body, Buffer.alloc(17 * 4)])), XdrError);
    const good = encodeAuthSys({ stamp: 1, machineName: 'm', uid: 1, gid: 2, gids: [3] });
    assert.throws(() => decodeAuthSys(Buffer.concat([good, Buffer.alloc(4)])), /after the AUTH_SYS/);
  });
});

describe('NFSv3 arguments and attributes as libnfs and nfs-ganesha exchange them', () => {
  it("decodes libnfs's WRITE call and encodes it again unchanged", () => {
    const captured = fixture('nfs-write-call');
    const call = decodeCall(captured);
    assert.equal(call.program, NFS_PROGRAM);
    assert.equal(call.procedure, 7);
    const handle = readHandle(call.args);
    const offset = call.args.uint64();
    const count = call.args.uint32();
    const stable = call.args.uint32();
    const data = call.args.opaque(1 << 20);
    assert.deepEqual([offset, count, stable, data.toString()], [0n, 8, 0, 'data123\n']);
    const again = encodeCall({ xid: call.xid, program: call.program, version: 3, procedure: 7, cred: call.cred })
      .opaque(handle)
      .uint64(offset)
      .uint32(count)
      .uint32(stable)
      .opaque(data);
    assert.deepEqual(again.toBuffer(), captured);
  });

  it("decodes libnfs's GUARDED CREATE with its mode and SETATTR with its size", () => {
    const create = decodeCall(fixture('nfs-create-call'));
    readHandle(create.args);
    assert.equal(readName(create.args), 'in2.txt');
    assert.equal(create.args.uint32(), 1, 'GUARDED');
    assert.deepEqual(readSattr(create.args), { mode: 0o660 });
    assert.equal(create.args.remaining, 0);
    const setattr = decodeCall(fixture('nfs-setattr-call'));
    readHandle(setattr.args);
    assert.deepEqual(readSattr(setattr.args), { size: 0 });
    assert.equal(setattr.args.bool(), false, 'no guard');
  });

  it("decodes nfs-ganesha's fattr3 and encodes the same 84 bytes from the node it describes", () => {
    const reply = decodeReply(fixture('nfs-getattr-reply'));
    assert.equal(reply.kind, 'success');
    if (reply.kind !== 'success') return;
    assert.equal(reply.results.uint32(), 0, 'NFS3_OK');
    const start = reply.results.offset;
    const attrs = readFattr(reply.results);
    const bytes = reply.results.buffer.subarray(start, reply.results.offset);
    assert.equal(bytes.length, 84);
    assert.equal(attrs.type, 2, 'the export root is a directory');
    const node: NodeRecord = {
      id: Number(attrs.fileid),
      parent: 1,
      name: '',
      type: 'dir',
      mode: attrs.mode,
      uid: attrs.uid,
      gid: attrs.gid,
      size: Number(attrs.size),
      atime: attrs.atime,
      mtime: attrs.mtime,
      ctime: attrs.ctime,
      key: '',
      headed: true,
    };
    const writer = new XdrWriter();
    writeFattr(writer, node, attrs.fsid);
    const ours = writer.toBuffer();
    // nlink and used differ by design (ganesha counts subdirectories and blocks); everything else is the same bytes.
    const same = (from: number, to: number) => assert.deepEqual(ours.subarray(from, to), bytes.subarray(from, to), `bytes ${from}-${to}`);
    same(0, 8);
    same(12, 28);
    same(36, 84);
  });

  it('round-trips our file handles and refuses anything else as a handle', () => {
    const handle = encodeHandle({ shareId: 7, fileId: 123456789 });
    assert.equal(handle.length, 16);
    assert.deepEqual(decodeHandle(handle), { shareId: 7, fileId: 123456789 });
    assert.deepEqual(decodeHandle(encodeHandle({ shareId: 7, fileId: 2 ** 40 + 3 })), { shareId: 7, fileId: 2 ** 40 + 3 });
    assert.equal(decodeHandle(readHandle(decodeCall(fixture('nfs-write-call')).args)), undefined, "ganesha's handle is not ours");
    assert.equal(decodeHandle(Buffer.alloc(16)), undefined);
    assert.equal(decodeHandle(handle.subarray(0, 15)), undefined);
  });
});
