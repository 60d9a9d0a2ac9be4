// NFS file handles: "TG", a format version, the share's id and the file id.
// Both ids are persistent and never reused, so a handle stays good across
// renames and gateway restarts, and names nothing else once its file is gone.
import { XdrWriter } from '../rpc/xdr.ts';

const MAGIC = 0x5447; // "TG"
const VERSION = 1;
export const HANDLE_LENGTH = 16;
/** The handle's first word: magic, version, a zero byte. */
const HEAD = ((MAGIC << 16) | (VERSION << 8)) >>> 0;

export interface HandleIds {
  readonly shareId: number;
  readonly fileId: number;
}

function writeHandleBytes(writer: XdrWriter, ids: HandleIds): XdrWriter {
  return writer.uint32(HEAD).uint32(ids.shareId).uint64(ids.fileId);
}

export function encodeHandle(ids: HandleIds): Buffer {
  return writeHandleBytes(new XdrWriter(HANDLE_LENGTH), ids).toBuffer();
}

/** The handle as XDR opaque data, written straight into a reply (READDIRPLUS writes one an entry). */
export function writeHandle(writer: XdrWriter, ids: HandleIds): void {
  writeHandleBytes(writer.uint32(HANDLE_LENGTH), ids);
}

/** The ids in a handle, or undefined when it is not one of ours (NFS3ERR_BADHANDLE). */
export function decodeHandle(handle: Buffer): HandleIds | undefined {
  if (handle.length !== HANDLE_LENGTH || handle.readUInt16BE(0) !== MAGIC || handle.readUInt8(2) !== VERSION || handle.readUInt8(3) !== 0)
    return undefined;
  const fileId = handle.readBigUInt64BE(8);
  if (fileId === 0n || fileId > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { shareId: handle.readUInt32BE(4), fileId: Number(fileId) };
}
