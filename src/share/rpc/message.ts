// ONC RPC version 2 messages (RFC 5531): calls and replies, AUTH_NONE and
// AUTH_SYS credentials. Pure: bytes in, values out, and back.
import { XdrError, XdrReader, XdrWriter } from './xdr.ts';

export const RPC_VERSION = 2;

export const MsgType = { Call: 0, Reply: 1 } as const;
export const ReplyStat = { Accepted: 0, Denied: 1 } as const;

export const AcceptStat = {
  Success: 0,
  ProgUnavail: 1,
  ProgMismatch: 2,
  ProcUnavail: 3,
  GarbageArgs: 4,
  SystemErr: 5,
} as const;
export type AcceptStat = (typeof AcceptStat)[keyof typeof AcceptStat];

export const RejectStat = { RpcMismatch: 0, AuthError: 1 } as const;

export const AuthStat = {
  Ok: 0,
  BadCred: 1,
  RejectedCred: 2,
  BadVerf: 3,
  RejectedVerf: 4,
  TooWeak: 5,
  InvalidResp: 6,
  Failed: 7,
} as const;
export type AuthStat = (typeof AuthStat)[keyof typeof AuthStat];

export const AuthFlavor = { None: 0, Sys: 1, Short: 2, Dh: 3, RpcsecGss: 6 } as const;

/** opaque_auth's body is at most 400 bytes. */
export const MAX_AUTH_BYTES = 400;
/** authsys_parms: machinename<255>, gids<16>. */
export const MAX_MACHINE_NAME = 255;
export const MAX_AUTH_SYS_GIDS = 16;

export interface OpaqueAuth {
  readonly flavor: number;
  readonly body: Buffer;
}

export const AUTH_NONE: OpaqueAuth = { flavor: AuthFlavor.None, body: Buffer.alloc(0) };

export interface AuthSys {
  readonly stamp: number;
  readonly machineName: string;
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

export interface RpcCall {
  readonly xid: number;
  readonly rpcVersion: number;
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  readonly cred: OpaqueAuth;
  readonly verf: OpaqueAuth;
  /** The procedure's arguments: the rest of the record. */
  readonly args: XdrReader;
}

function readAuth(reader: XdrReader): OpaqueAuth {
  const flavor = reader.uint32();
  return { flavor, body: reader.opaque(MAX_AUTH_BYTES) };
}

function writeAuth(writer: XdrWriter, auth: OpaqueAuth): void {
  writer.uint32(auth.flavor).opaque(auth.body);
}

/** The xid of a record, if it is long enough to have one: a reply to a call whose header is bad needs it. */
export function peekXid(record: Buffer): number | undefined {
  return record.length >= 4 ? record.readUInt32BE(0) : undefined;
}

/**
 * Decodes a call's header. Throws XdrError when the record is not a call or its
 * header does not decode; a call of another RPC version decodes (the server
 * answers RPC_MISMATCH).
 */
export function decodeCall(record: Buffer): RpcCall {
  const reader = new XdrReader(record);
  const xid = reader.uint32();
  const type = reader.uint32();
  if (type !== MsgType.Call) throw new XdrError(`message type ${type} where a call (0) was expected`);
  const rpcVersion = reader.uint32();
  const program = reader.uint32();
  const version = reader.uint32();
  const procedure = reader.uint32();
  const cred = readAuth(reader);
  const verf = readAuth(reader);
  return { xid, rpcVersion, program, version, procedure, cred, verf, args: reader };
}

export function decodeAuthSys(body: Buffer): AuthSys {
  const reader = new XdrReader(body);
  const stamp = reader.uint32();
  const machineName = reader.string(MAX_MACHINE_NAME);
  const uid = reader.uint32();
  const gid = reader.uint32();
  const gids = reader.array(MAX_AUTH_SYS_GIDS, (r) => r.uint32());
  if (reader.remaining !== 0) throw new XdrError(`${reader.remaining} bytes after the AUTH_SYS credential`);
  return { stamp, machineName, uid, gid, gids };
}

export function encodeAuthSys(auth: AuthSys): Buffer {
  const writer = new XdrWriter();
  writer.uint32(auth.stamp).string(auth.machineName).uint32(auth.uid).uint32(auth.gid).uint32(auth.gids.length);
  for (const gid of auth.gids) writer.uint32(gid);
  return writer.toBuffer();
}

export interface CallHeader {
  readonly xid: number;
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  readonly cred?: OpaqueAuth;
  readonly verf?: OpaqueAuth;
  readonly rpcVersion?: number;
}

/** A call's header; the caller appends the arguments. */
export function encodeCall(header: CallHeader): XdrWriter {
  const writer = new XdrWriter();
  writer
    .uint32(header.xid)
    .uint32(MsgType.Call)
    .uint32(header.rpcVersion ?? RPC_VERSION)
    .uint32(header.program)
    .uint32(header.version)
    .uint32(header.procedure);
  writeAuth(writer, header.cred ?? AUTH_NONE);
  writeAuth(writer, header.verf ?? AUTH_NONE);
  return writer;
}

function acceptedHeader(xid: number, stat: AcceptStat, verf: OpaqueAuth = AUTH_NONE): XdrWriter {
  const writer = new XdrWriter();
  writer.uint32(xid).uint32(MsgType.Reply).uint32(ReplyStat.Accepted);
  writeAuth(writer, verf);
  return writer.uint32(stat);
}

/** SUCCESS, followed by the procedure's results. */
export function encodeSuccess(xid: number, results?: XdrWriter): XdrWriter {
  const writer = acceptedHeader(xid, AcceptStat.Success);
  return results ? writer.append(results) : writer;
}

/** PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS or SYSTEM_ERR. */
export function encodeAcceptError(xid: number, stat: Exclude<AcceptStat, 0 | 2>): XdrWriter {
  return acceptedHeader(xid, stat);
}

/** PROG_MISMATCH with the lowest and highest versions served. */
export function encodeProgMismatch(xid: number, low: number, high: number): XdrWriter {
  return acceptedHeader(xid, AcceptStat.ProgMismatch).uint32(low).uint32(high);
}

export function encodeRpcMismatch(xid: number): XdrWriter {
  const writer = new XdrWriter();
  return writer
    .uint32(xid)
    .uint32(MsgType.Reply)
    .uint32(ReplyStat.Denied)
    .uint32(RejectStat.RpcMismatch)
    .uint32(RPC_VERSION)
    .uint32(RPC_VERSION);
}

export function encodeAuthError(xid: number, stat: AuthStat): XdrWriter {
  const writer = new XdrWriter();
  return writer.uint32(xid).uint32(MsgType.Reply).uint32(ReplyStat.Denied).uint32(RejectStat.AuthError).uint32(stat);
}

export type RpcReply =
  | { readonly xid: number; readonly kind: 'success'; readonly verf: OpaqueAuth; readonly results: XdrReader }
  | { readonly xid: number; readonly kind: 'accept-error'; readonly stat: AcceptStat; readonly low?: number; readonly high?: number }
  | { readonly xid: number; readonly kind: 'rpc-mismatch'; readonly low: number; readonly high: number }
  | { readonly xid: number; readonly kind: 'auth-error'; readonly stat: AuthStat };

/** Decodes a reply (the client's side: tests and tools). */
export function decodeReply(record: Buffer): RpcReply {
  const reader = new XdrReader(record);
  const xid = reader.uint32();
  const type = reader.uint32();
  if (type !== MsgType.Reply) throw new XdrError(`message type ${type} where a reply (1) was expected`);
  const replyStat = reader.uint32();
  if (replyStat === ReplyStat.Accepted) {
    const verf = readAuth(reader);
    const stat = reader.uint32() as AcceptStat;
    if (stat === AcceptStat.Success) return { xid, kind: 'success', verf, results: reader };
    if (stat === AcceptStat.ProgMismatch) return { xid, kind: 'accept-error', stat, low: reader.uint32(), high: reader.uint32() };
    if (stat > AcceptStat.SystemErr) throw new XdrError(`accept_stat ${stat} is not defined`);
    return { xid, kind: 'accept-error', stat };
  }
  if (replyStat !== ReplyStat.Denied) throw new XdrError(`reply_stat ${replyStat} is not defined`);
  const reject = reader.uint32();
  if (reject === RejectStat.RpcMismatch) return { xid, kind: 'rpc-mismatch', low: reader.uint32(), high: reader.uint32() };
  if (reject !== RejectStat.AuthError) throw new XdrError(`reject_stat ${reject} is not defined`);
  return { xid, kind: 'auth-error', stat: reader.uint32() as AuthStat };
}
