// NFS file handles: "TG", a format version, the share's id and the file id.
// Both ids are persistent and never reused, so a handle stays good across
// renames and gateway restarts, and names nothing else once its file is gone.
import { writeUint64Number } from '../rpc/xdr.ts';

const MAGIC = 0x5447; // "TG"
const VERSION = 1;
export const HANDLE_LENGTH = 16;

export interface HandleIds {
  readonly shareId: number;
  readonly fileId: number;
}

export function encodeHandle(ids: HandleIds): Buffer {
  const handle = Buffer.alloc(HANDLE_LENGTH);
  handle.writeUInt16BE(MAGIC, 0);
  handle.writeUInt8(VERSION, 2);
  handle.writeUInt32BE(ids.shareId, 4);
  writeUint64Number(handle, ids.fileId, 8);
  return handle;
}

/** The ids in a handle, or undefined when it is not one of ours (NFS3ERR_BADHANDLE). */
export function decodeHandle(handle: Buffer): HandleIds | undefined {
  if (handle.length !== HANDLE_LENGTH || handle.readUInt16BE(0) !== MAGIC || handle.readUInt8(2) !== VERSION || handle.readUInt8(3) !== 0)
    return undefined;
  const fileId = handle.readBigUInt64BE(8);
  if (fileId === 0n || fileId > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { shareId: handle.readUInt32BE(4), fileId: Number(fileId) };
}
