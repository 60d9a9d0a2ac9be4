// NFS version 3 (RFC 1813): the table of its 22 procedures, each decoding its
// arguments, asking the share's file system, and encoding its results. The
// table is the one truth of what is served. A refusal is the file system's
// FsError mapped to its NFS3ERR_*, with the failure arm's attributes left out
// (they are optional in every failure arm).
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log.ts';
import type { Caller } from '../fs/access.ts';
import { FsError } from '../fs/errors.ts';
import type { NodeRecord } from '../fs/node-table.ts';
import type { CreateHow, ShareFs, Stability } from '../fs/share-fs.ts';
import { MAX_FILE_SIZE } from '../fs/share-fs.ts';
import { NAME_MAX } from '../fs/names.ts';
import type { RpcCallContext, RpcProcedure, RpcProgram } from '../rpc/server.ts';
import { XdrWriter, type XdrReader } from '../rpc/xdr.ts';
import { decodeHandle, encodeHandle, writeHandle } from './file-handle.ts';
import {
  CreateMode,
  MAX_PATH_BYTES,
  NFS3_COOKIEVERFSIZE,
  NFS3_CREATEVERFSIZE,
  NFS_PROGRAM,
  NFS_V3,
  Nfs3Status,
  readHandle,
  readName,
  readSattr,
  readTime,
  StableHow,
  statusOf,
  writeFattr,
  writePostOpAttr,
  writeTime,
  writeWcc,
} from './nfs3-xdr.ts';

/** The shares being served, for the NFS and MOUNT programs. */
export interface ExportedShares {
  byId(id: number): ShareFs | undefined;
  byName(name: string): ShareFs | undefined;
  all(): readonly ShareFs[];
}

/** The transfer sizes offered in FSINFO (Linux takes up to 1 MiB). */
export const TRANSFER_SIZE = 1024 * 1024;
/** READDIR's preferred size. */
const DIR_PREFERRED = 64 * 1024;
/** A READDIR reply is built in one buffer of its count, up to this. */
const DIR_REPLY_BUFFER = 64 * 1024;
/** A file system's size as AWS's file gateway reports it: 8 EiB (S3 has no end). */
const REPORTED_BYTES = 2n ** 63n;
const REPORTED_FILES = BigInt(Number.MAX_SAFE_INTEGER);
const FSF3_SYMLINK = 0x2;
const FSF3_HOMOGENEOUS = 0x8;
const FSF3_CANSETTIME = 0x10;

class Refusal extends Error {
  constructor(readonly status: Nfs3Status) {
    super(`NFS3 status ${status}`);
  }
}

/** What a failure arm carries after the status, all attributes left out. */
type FailureShape = 'none' | 'post-op' | 'wcc' | 'two-wcc' | 'post-op-and-wcc';

interface Target {
  readonly fs: ShareFs;
  readonly id: number;
  readonly caller: Caller;
  readonly fsid: number;
}

export interface Nfs3Options {
  readonly logger: Logger;
  /** WRITE and COMMIT's verifier; new at every start, so that clients resend what they had not committed. */
  readonly writeVerifier?: Buffer;
}

export function nfs3Program(shares: ExportedShares, options: Nfs3Options): RpcProgram {
  const writeVerifier = options.writeVerifier ?? randomBytes(8);

  const target = (handle: Buffer, context: RpcCallContext): Target => {
    const ids = decodeHandle(handle);
    if (!ids) throw new Refusal(Nfs3Status.BADHANDLE);
    const fs = shares.byId(ids.shareId);
    if (!fs) throw new Refusal(Nfs3Status.STALE);
    if (!fs.settings.clients.allows(context.remoteAddress)) throw new Refusal(Nfs3Status.ACCES);
    fs.noteRequest();
    const claimed = context.credentials.flavor === 'sys' ? context.credentials : undefined;
    return { fs, id: ids.fileId, caller: fs.caller(claimed), fsid: ids.shareId };
  };
  const handleOf = (t: Target, node: NodeRecord) => encodeHandle({ shareId: t.fsid, fileId: node.id });
  const ok = () => new XdrWriter().uint32(Nfs3Status.OK);

  const procedure = (
    name: string,
    failure: FailureShape,
    run: (args: XdrReader, context: RpcCallContext) => Promise<XdrWriter>,
  ): RpcProcedure => ({
    name,
    handler: async (args, context) => {
      try {
        return await run(args, context);
      } catch (err) {
        let status: Nfs3Status;
        if (err instanceof Refusal) status = err.status;
        else if (err instanceof FsError) status = statusOf(err.code);
        else if (err instanceof RangeError && /offset|length|size/i.test(err.message)) status = Nfs3Status.INVAL;
        else throw err;
        const writer = new XdrWriter().uint32(status);
        if (failure === 'post-op') writer.bool(false);
        else if (failure === 'wcc') writer.bool(false).bool(false);
        else if (failure === 'two-wcc') writer.bool(false).bool(false).bool(false).bool(false);
        else if (failure === 'post-op-and-wcc') writer.bool(false).bool(false).bool(false);
        if (status === Nfs3Status.SERVERFAULT || status === Nfs3Status.IO)
          options.logger.warn({ err, procedure: name }, 'NFS procedure failed');
        return writer;
      }
    },
  });

  const diropResult = (t: Target, created: { node: NodeRecord; dir: NodeRecord; dirBefore: NodeRecord }) => {
    const writer = ok().bool(true).opaque(handleOf(t, created.node));
    writePostOpAttr(writer, created.node, t.fsid);
    writeWcc(writer, created.dirBefore, created.dir, t.fsid);
    return writer;
  };

  const table: [number, RpcProcedure][] = [
    [0, { name: 'NULL', handler: () => new XdrWriter(0) }],
    [
      1,
      procedure('GETATTR', 'none', async (args, context) => {
        const t = target(readHandle(args), context);
        const writer = ok();
        writeFattr(writer, await t.fs.getattr(t.id), t.fsid);
        return writer;
      }),
    ],
    [
      2,
      procedure('SETATTR', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const attributes = readSattr(args);
        const guard = args.optional(readTime);
        const { node, before } = await t.fs.setattr(t.id, t.caller, attributes, guard);
        const writer = ok();
        writeWcc(writer, before, node, t.fsid);
        return writer;
      }),
    ],
    [
      3,
      procedure('LOOKUP', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const name = readName(args);
        const node = await t.fs.lookup(t.id, name, t.caller);
        const writer = ok().opaque(handleOf(t, node));
        writePostOpAttr(writer, node, t.fsid);
        writePostOpAttr(writer, await t.fs.getattr(t.id), t.fsid);
        return writer;
      }),
    ],
    [
      4,
      procedure('ACCESS', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const { node, granted } = await t.fs.access(t.id, t.caller, args.uint32());
        const writer = ok();
        writePostOpAttr(writer, node, t.fsid);
        return writer.uint32(granted);
      }),
    ],
    [
      5,
      procedure('READLINK', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const path = await t.fs.readlink(t.id);
        const writer = ok();
        writePostOpAttr(writer, await t.fs.getattr(t.id), t.fsid);
        return writer.string(path);
      }),
    ],
    [
      6,
      procedure('READ', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const offset = args.uint64Number();
        const count = Math.min(args.uint32(), TRANSFER_SIZE);
        const { node, data, eof, release } = await t.fs.read(t.id, t.caller, offset, count);
        const writer = ok().whenDone(release); // the data goes out without a copy
        writePostOpAttr(writer, node, t.fsid);
        return writer.uint32(data.length).bool(eof).opaque(data);
      }),
    ],
    [
      7,
      procedure('WRITE', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const offset = args.uint64Number();
        const count = args.uint32();
        const stable = args.uint32();
        const data = args.opaque(TRANSFER_SIZE * 4);
        if (stable > StableHow.FILE_SYNC) throw new Refusal(Nfs3Status.INVAL);
        if (count > data.length) throw new Refusal(Nfs3Status.INVAL);
        const stability: Stability = stable === StableHow.UNSTABLE ? 'unstable' : stable === StableHow.DATA_SYNC ? 'data' : 'file';
        const { node, before, committed } = await t.fs.write(t.id, t.caller, offset, data.subarray(0, count), stability);
        const writer = ok();
        writeWcc(writer, before, node, t.fsid);
        return writer
          .uint32(count)
          .uint32(committed === 'unstable' ? StableHow.UNSTABLE : StableHow.FILE_SYNC)
          .fixedOpaque(writeVerifier);
      }),
    ],
    [
      8,
      procedure('CREATE', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const name = readName(args);
        const mode = args.uint32();
        let how: CreateHow;
        if (mode === CreateMode.EXCLUSIVE) how = { mode: 'exclusive', verifier: Buffer.from(args.fixedOpaque(NFS3_CREATEVERFSIZE)) };
        else if (mode === CreateMode.UNCHECKED || mode === CreateMode.GUARDED)
          how = { mode: mode === CreateMode.GUARDED ? 'guarded' : 'unchecked', attributes: readSattr(args) };
        else throw new Refusal(Nfs3Status.INVAL);
        return diropResult(t, await t.fs.create(t.id, t.caller, name, how));
      }),
    ],
    [
      9,
      procedure('MKDIR', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const name = readName(args);
        return diropResult(t, await t.fs.mkdir(t.id, t.caller, name, readSattr(args)));
      }),
    ],
    [
      10,
      procedure('SYMLINK', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const name = readName(args);
        const attributes = readSattr(args);
        const path = args.string(MAX_PATH_BYTES);
        return diropResult(t, await t.fs.symlink(t.id, t.caller, name, path, attributes));
      }),
    ],
    [
      11,
      // Special files cannot be objects; AWS's file gateway refuses them the same way.
      procedure('MKNOD', 'wcc', async (args, context) => {
        target(readHandle(args), context);
        throw new Refusal(Nfs3Status.NOTSUPP);
      }),
    ],
    [
      12,
      procedure('REMOVE', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const { dir, dirBefore } = await t.fs.remove(t.id, t.caller, readName(args), 'file');
        const writer = ok();
        writeWcc(writer, dirBefore, dir, t.fsid);
        return writer;
      }),
    ],
    [
      13,
      procedure('RMDIR', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        const { dir, dirBefore } = await t.fs.remove(t.id, t.caller, readName(args), 'dir');
        const writer = ok();
        writeWcc(writer, dirBefore, dir, t.fsid);
        return writer;
      }),
    ],
    [
      14,
      procedure('RENAME', 'two-wcc', async (args, context) => {
        const from = target(readHandle(args), context);
        const fromName = readName(args);
        const to = target(readHandle(args), context);
        const toName = readName(args);
        if (from.fs !== to.fs) throw new Refusal(Nfs3Status.XDEV);
        const result = await from.fs.rename(from.id, fromName, to.id, toName, from.caller);
        const writer = ok();
        writeWcc(writer, result.fromBefore, result.fromDir, from.fsid);
        writeWcc(writer, result.toBefore, result.toDir, from.fsid);
        return writer;
      }),
    ],
    [
      15,
      // Hard links have no object form; AWS's file gateway refuses them the same way.
      procedure('LINK', 'post-op-and-wcc', async (args, context) => {
        target(readHandle(args), context);
        throw new Refusal(Nfs3Status.NOTSUPP);
      }),
    ],
    [
      16,
      procedure('READDIR', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const cookie = args.uint64Number();
        const verifier = args.fixedOpaque(NFS3_COOKIEVERFSIZE);
        const count = args.uint32();
        return readdir(t, cookie, verifier, count, count, false);
      }),
    ],
    [
      17,
      procedure('READDIRPLUS', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const cookie = args.uint64Number();
        const verifier = args.fixedOpaque(NFS3_COOKIEVERFSIZE);
        const dirCount = args.uint32();
        const maxCount = args.uint32();
        return readdir(t, cookie, verifier, dirCount, maxCount, true);
      }),
    ],
    [
      18,
      procedure('FSSTAT', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const writer = ok();
        writePostOpAttr(writer, await t.fs.getattr(t.id), t.fsid);
        return writer
          .uint64(REPORTED_BYTES)
          .uint64(REPORTED_BYTES)
          .uint64(REPORTED_BYTES)
          .uint64(REPORTED_FILES)
          .uint64(REPORTED_FILES)
          .uint64(REPORTED_FILES)
          .uint32(0);
      }),
    ],
    [
      19,
      procedure('FSINFO', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const writer = ok();
        writePostOpAttr(writer, await t.fs.getattr(t.id), t.fsid);
        writer
          .uint32(TRANSFER_SIZE)
          .uint32(TRANSFER_SIZE)
          .uint32(4096)
          .uint32(TRANSFER_SIZE)
          .uint32(TRANSFER_SIZE)
          .uint32(4096)
          .uint32(DIR_PREFERRED);
        writer.uint64(MAX_FILE_SIZE);
        writeTime(writer, { sec: 0, nsec: 1 });
        return writer.uint32(FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
      }),
    ],
    [
      20,
      procedure('PATHCONF', 'post-op', async (args, context) => {
        const t = target(readHandle(args), context);
        const writer = ok();
        writePostOpAttr(writer, await t.fs.getattr(t.id), t.fsid);
        // linkmax 1: no hard links. Names longer than NAME_MAX are refused, never cut; only root chowns.
        return writer.uint32(1).uint32(NAME_MAX).bool(true).bool(true).bool(false).bool(true);
      }),
    ],
    [
      21,
      procedure('COMMIT', 'wcc', async (args, context) => {
        const t = target(readHandle(args), context);
        args.uint64Number();
        args.uint32();
        const node = await t.fs.commit(t.id);
        const writer = ok();
        writeWcc(writer, node, node, t.fsid);
        return writer.fixedOpaque(writeVerifier);
      }),
    ],
  ];

  /** READDIR and READDIRPLUS: entries after the cookie while they fit the client's counts. */
  async function readdir(
    t: Target,
    cookie: number,
    verifier: Buffer,
    dirCount: number,
    maxCount: number,
    plus: boolean,
  ): Promise<XdrWriter> {
    const expected = cookieVerifier(t.id);
    if (cookie !== 0 && !verifier.equals(ZERO_VERIFIER) && !verifier.equals(expected)) throw new Refusal(Nfs3Status.BAD_COOKIE);
    // status, post_op_attr, cookieverf, the list's end and eof.
    const fixed = 4 + 4 + 84 + 8 + 4 + 4;
    // The entries asked of the file system at a time: as many as fit when each has the shortest name and, for
    // READDIRPLUS, its attributes and handle; more are asked for while the reply has room (names are longer, or
    // attributes not known).
    // (READDIR's count bounds the whole reply; READDIRPLUS's dircount the entries without attributes and handles.)
    const batch = (room: number, dirRoom: number) =>
      Math.max(1, Math.min(4096, Math.floor(room / (plus ? MIN_ENTRY + MIN_PLUS : MIN_ENTRY)), Math.floor(dirRoom / MIN_ENTRY)) + 1);
    let size = fixed;
    let dirSize = 0;
    let listing = await t.fs.readdir(t.id, t.caller, cookie, batch(maxCount - size, plus ? dirCount : maxCount - size), plus);
    const { dir } = listing;
    const writer = new XdrWriter(Math.min(maxCount, DIR_REPLY_BUFFER)).uint32(Nfs3Status.OK);
    writePostOpAttr(writer, dir, t.fsid);
    writer.fixedOpaque(expected);
    let written = 0;
    for (;;) {
      let full = false;
      for (const entry of listing.entries) {
        const nameBytes = Buffer.byteLength(entry.name);
        const nameSize = 4 + nameBytes + ((4 - (nameBytes & 3)) & 3);
        const basic = 4 + 8 + nameSize + 8;
        const { node } = entry;
        const extra = plus ? 4 + (node ? 84 : 0) + 4 + (node ? 4 + 16 : 0) : 0;
        if (size + basic + extra > maxCount || (plus ? dirSize + basic > dirCount : false)) {
          full = true;
          break;
        }
        size += basic + extra;
        dirSize += basic;
        writer.bool(true).uint64(entry.id).string(entry.name).uint64(entry.cookie);
        if (plus) {
          writePostOpAttr(writer, node, t.fsid);
          writer.bool(node !== undefined);
          if (node) writeHandle(writer, { shareId: t.fsid, fileId: node.id });
        }
        written++;
        cookie = entry.cookie;
      }
      if (written === 0 && full) throw new Refusal(Nfs3Status.TOOSMALL);
      if (full || listing.eof) return writer.bool(false).bool(!full && listing.eof);
      listing = await t.fs.readdir(t.id, t.caller, cookie, batch(maxCount - size, plus ? dirCount - dirSize : maxCount - size), plus);
    }
  }

  return { program: NFS_PROGRAM, version: NFS_V3, name: 'nfs', procedures: new Map(table) };
}

const ZERO_VERIFIER = Buffer.alloc(NFS3_COOKIEVERFSIZE);
/** entry3's least size: value follows, fileid, a name of 1 to 4 bytes, cookie. */
const MIN_ENTRY = 4 + 8 + 4 + 4 + 8;
/** What entryplus3 adds when the attributes and handle are known: both post_op arms, fattr3, our handle. */
const MIN_PLUS = 4 + 84 + 4 + 4 + 16;

/** A directory's cookie verifier: its file id. Cookies are file ids too, good for as long as the directory lives. */
function cookieVerifier(dirId: number): Buffer {
  const verifier = Buffer.alloc(NFS3_COOKIEVERFSIZE);
  verifier.writeBigUInt64BE(BigInt(dirId));
  return verifier;
}
