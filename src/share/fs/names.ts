// What a file name and an object key may be.
import { FsError } from './errors.ts';

export const NAME_MAX = 255;
/** S3's limit on a key, share prefix included. */
export const KEY_MAX = 1024;
export const SYMLINK_MAX = 4096;

/** A name a client may create: not empty, no "/" or NUL, not "." or "..", at most 255 bytes. */
export function checkNewName(name: string): void {
  checkName(name);
  if (name === '.' || name === '..') throw new FsError('EXIST', `${JSON.stringify(name)} always exists`);
}

/** A name a client may look up or remove. */
export function checkName(name: string): void {
  if (name.length === 0) throw new FsError('INVAL', 'an empty file name');
  if (name.includes('/')) throw new FsError('INVAL', `the name ${JSON.stringify(name)} holds a "/"`);
  if (name.includes('\0')) throw new FsError('INVAL', 'the name holds a NUL byte');
  if (name.includes('\uFFFD')) throw new FsError('INVAL', 'the name is not valid UTF-8');
  if (Buffer.byteLength(name) > NAME_MAX)
    throw new FsError('NAMETOOLONG', `the name is ${Buffer.byteLength(name)} bytes, more than ${NAME_MAX}`);
}

/** The object key of a path, refused when it exceeds S3's 1,024 bytes. */
export function checkKey(prefix: string, key: string): void {
  const length = Buffer.byteLength(prefix) + Buffer.byteLength(key);
  if (length > KEY_MAX) throw new FsError('NAMETOOLONG', `the object key would be ${length} bytes, more than S3's ${KEY_MAX}`);
}

/** A name found in the bucket that the share can show: the same rules, no error. */
export function isShowableName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('\0') && Buffer.byteLength(name) <= NAME_MAX;
}
