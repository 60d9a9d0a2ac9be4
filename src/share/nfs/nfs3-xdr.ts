// NFSv3's data types (RFC 1813 section 2.5-2.6): status codes, file handles,
// attributes (fattr3, sattr3, wcc_data) as XDR.
import type { SetAttributes } from '../fs/share-fs.ts';
import type { NodeRecord } from '../fs/node-table.ts';
import type { Time } from '../fs/attributes.ts';
import type { FsErrorCode } from '../fs/errors.ts';
import { XdrError, type XdrReader, type XdrWriter } from '../rpc/xdr.ts';

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;
export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
/** filename3 and nfspath3 are unbounded strings in the RFC; these bound what is read. */
export const MAX_NAME_BYTES = 1024;
export const MAX_PATH_BYTES = 4096;

export const Nfs3Status = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  NXIO: 6,
  ACCES: 13,
  EXIST: 17,
  XDEV: 18,
  NODEV: 19,
  NOTDIR: 20,
  ISDIR: 21,
  INVAL: 22,
  FBIG: 27,
  NOSPC: 28,
  ROFS: 30,
  MLINK: 31,
  NAMETOOLONG: 63,
  NOTEMPTY: 66,
  DQUOT: 69,
  STALE: 70,
  REMOTE: 71,
  BADHANDLE: 10001,
  NOT_SYNC: 10002,
  BAD_COOKIE: 10003,
  NOTSUPP: 10004,
  TOOSMALL: 10005,
  SERVERFAULT: 10006,
  BADTYPE: 10007,
  JUKEBOX: 10008,
} as const;
export type Nfs3Status = (typeof Nfs3Status)[keyof typeof Nfs3Status];

export function statusOf(code: FsErrorCode): Nfs3Status {
  return Nfs3Status[code];
}

export const FileType = { REG: 1, DIR: 2, BLK: 3, CHR: 4, LNK: 5, SOCK: 6, FIFO: 7 } as const;
export const StableHow = { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const;
export const CreateMode = { UNCHECKED: 0, GUARDED: 1, EXCLUSIVE: 2 } as const;
const TimeHow = { DONT_CHANGE: 0, SET_TO_SERVER_TIME: 1, SET_TO_CLIENT_TIME: 2 } as const;

export function readTime(reader: XdrReader): Time {
  const sec = reader.uint32();
  const nsec = reader.uint32();
  if (nsec >= 1_000_000_000) throw new XdrError(`nseconds ${nsec} is not below one second`);
  return { sec, nsec };
}

export function writeTime(writer: XdrWriter, time: Time): void {
  writer.uint32(time.sec).uint32(time.nsec);
}

function readSetTime(reader: XdrReader): 'server' | Time | undefined {
  const how = reader.uint32();
  if (how === TimeHow.DONT_CHANGE) return undefined;
  if (how === TimeHow.SET_TO_SERVER_TIME) return 'server';
  if (how === TimeHow.SET_TO_CLIENT_TIME) return readTime(reader);
  throw new XdrError(`time_how ${how} is not defined`);
}

export function readSattr(reader: XdrReader): SetAttributes {
  const mode = reader.optional((r) => r.uint32());
  const uid = reader.optional((r) => r.uint32());
  const gid = reader.optional((r) => r.uint32());
  const size = reader.optional((r) => r.uint64Number());
  const atime = readSetTime(reader);
  const mtime = readSetTime(reader);
  return {
    ...(mode !== undefined ? { mode } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(atime !== undefined ? { atime } : {}),
    ...(mtime !== undefined ? { mtime } : {}),
  };
}

const TYPES = { file: FileType.REG, dir: FileType.DIR, symlink: FileType.LNK } as const;

/** fattr3: 84 bytes. */
export function writeFattr(writer: XdrWriter, node: NodeRecord, fsid: number | bigint): void {
  writer
    .uint32(TYPES[node.type])
    .uint32(node.mode)
    .uint32(node.type === 'dir' ? 2 : 1)
    .uint32(node.uid)
    .uint32(node.gid)
    .uint64(node.size)
    .uint64(node.size)
    .uint32(0)
    .uint32(0)
    .uint64(fsid)
    .uint64(node.id);
  writeTime(writer, node.atime);
  writeTime(writer, node.mtime);
  writeTime(writer, node.ctime);
}

export function writePostOpAttr(writer: XdrWriter, node: NodeRecord | undefined, fsid: number): void {
  writer.bool(node !== undefined);
  if (node) writeFattr(writer, node, fsid);
}

/** wcc_data: the attributes before (size, mtime, ctime) and after a change. */
export function writeWcc(writer: XdrWriter, before: NodeRecord | undefined, after: NodeRecord | undefined, fsid: number): void {
  writer.bool(before !== undefined);
  if (before) {
    writer.uint64(before.size);
    writeTime(writer, before.mtime);
    writeTime(writer, before.ctime);
  }
  writePostOpAttr(writer, after, fsid);
}

export function readHandle(reader: XdrReader): Buffer {
  return reader.opaque(NFS3_FHSIZE);
}

export function readName(reader: XdrReader): string {
  return reader.string(MAX_NAME_BYTES);
}

export interface Fattr {
  readonly type: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  readonly used: bigint;
  readonly rdev: readonly [number, number];
  readonly fsid: bigint;
  readonly fileid: bigint;
  readonly atime: Time;
  readonly mtime: Time;
  readonly ctime: Time;
}

/** fattr3 as a client reads it. */
export function readFattr(reader: XdrReader): Fattr {
  return {
    type: reader.uint32(),
    mode: reader.uint32(),
    nlink: reader.uint32(),
    uid: reader.uint32(),
    gid: reader.uint32(),
    size: reader.uint64(),
    used: reader.uint64(),
    rdev: [reader.uint32(), reader.uint32()],
    fsid: reader.uint64(),
    fileid: reader.uint64(),
    atime: readTime(reader),
    mtime: readTime(reader),
    ctime: readTime(reader),
  };
}
