// A file's POSIX attributes and the object metadata that carries them, under
// the names AWS's S3 File Gateway (and Amazon File Cache, FSx for Lustre) use,
// so that a bucket written by one reads the same through the other:
//   file-permissions  "0100644": st_mode in octal, file type bits included
//   file-owner, file-group  uid and gid in decimal
//   file-mtime, file-ctime, file-atime  "1733478000123456789ns" (a bare number is milliseconds)
//   user-agent  "aws-storage-gateway"
// (S3 returns them as x-amz-meta-<name>; the SDK's Metadata map has the bare names.)

export type NodeType = 'file' | 'dir' | 'symlink';

export interface Time {
  readonly sec: number;
  readonly nsec: number;
}

export interface PosixAttributes {
  readonly type: NodeType;
  /** Permission bits, set-id and sticky bits: st_mode & 07777. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atime: Time;
  readonly mtime: Time;
  readonly ctime: Time;
}

export const S_IFMT = 0o170000;
const TYPE_BITS: Record<NodeType, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000 };

export const META = {
  permissions: 'file-permissions',
  owner: 'file-owner',
  group: 'file-group',
  mtime: 'file-mtime',
  ctime: 'file-ctime',
  atime: 'file-atime',
  userAgent: 'user-agent',
} as const;

export const USER_AGENT = 'aws-storage-gateway';

export function now(): Time {
  const ms = Date.now();
  const ns = process.hrtime.bigint() % 1_000_000n;
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 + Number(ns) };
}

export function timeFromDate(date: Date): Time {
  const ms = date.getTime();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}

export function formatTime(time: Time): string {
  return `${time.sec}${String(time.nsec).padStart(9, '0')}ns`;
}

/** "…ns" is nanoseconds, a bare number milliseconds; anything else is not a time. */
export function parseTime(text: string | undefined): Time | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,30})(ns)?$/.exec(text.trim());
  if (!match) return undefined;
  const ns = match[2] ? BigInt(match[1]!) : BigInt(match[1]!) * 1_000_000n;
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

export function modeString(type: NodeType, mode: number): string {
  return `0${(TYPE_BITS[type] | (mode & 0o7777)).toString(8).padStart(6, '0')}`;
}

export function toMetadata(attrs: PosixAttributes): Record<string, string> {
  return {
    [META.permissions]: modeString(attrs.type, attrs.mode),
    [META.owner]: String(attrs.uid),
    [META.group]: String(attrs.gid),
    [META.mtime]: formatTime(attrs.mtime),
    [META.ctime]: formatTime(attrs.ctime),
    [META.atime]: formatTime(attrs.atime),
    [META.userAgent]: USER_AGENT,
  };
}

export interface Defaults {
  readonly fileMode: number;
  readonly dirMode: number;
  readonly uid: number;
  readonly gid: number;
}

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= 0xffff_ffff ? value : undefined;
}

/**
 * The attributes an object's metadata gives, with the share's defaults for
 * what it lacks (objects other S3 clients put in have none). `fallbackType`
 * is what the key says (a "dir/" key is a directory); the permissions' type
 * bits may make a file a symbolic link.
 */
export function fromMetadata(
  metadata: Readonly<Record<string, string>>,
  fallbackType: NodeType,
  lastModified: Time,
  defaults: Defaults,
): PosixAttributes {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) lower[name.toLowerCase()] = value;
  const permissions = lower[META.permissions];
  const bits = permissions !== undefined && /^[0-7]{1,7}$/.test(permissions) ? parseInt(permissions, 8) : undefined;
  let type = fallbackType;
  if (bits !== undefined && fallbackType === 'file' && (bits & S_IFMT) === TYPE_BITS.symlink) type = 'symlink';
  const mode = bits !== undefined ? bits & 0o7777 : type === 'dir' ? defaults.dirMode : type === 'symlink' ? 0o777 : defaults.fileMode;
  const mtime = parseTime(lower[META.mtime]) ?? lastModified;
  return {
    type,
    mode,
    uid: parseId(lower[META.owner]) ?? defaults.uid,
    gid: parseId(lower[META.group]) ?? defaults.gid,
    mtime,
    ctime: parseTime(lower[META.ctime]) ?? mtime,
    atime: parseTime(lower[META.atime]) ?? mtime,
  };
}
