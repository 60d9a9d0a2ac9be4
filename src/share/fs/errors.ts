// Refusals of the share's file system, named after the POSIX errors they are.
// The protocol layer maps each to its NFS3ERR_*; nothing here knows NFS.

export type FsErrorCode =
  | 'PERM'
  | 'NOENT'
  | 'IO'
  | 'ACCES'
  | 'EXIST'
  | 'XDEV'
  | 'NOTDIR'
  | 'ISDIR'
  | 'INVAL'
  | 'FBIG'
  | 'NOSPC'
  | 'ROFS'
  | 'NAMETOOLONG'
  | 'NOTEMPTY'
  | 'STALE'
  | 'NOTSUPP'
  | 'BAD_COOKIE'
  | 'NOT_SYNC'
  | 'SERVERFAULT'
  | 'JUKEBOX';

export class FsError extends Error {
  constructor(
    readonly code: FsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
