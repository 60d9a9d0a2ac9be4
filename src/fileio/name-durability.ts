// Whether a file system makes a new file's name durable with the file's own
// fsync/fdatasync, so that no fsync of its folder is needed for it.
//
// POSIX does not promise it, but these Linux file systems do:
// - ext4 with a journal: a new file's fdatasync commits the journal transaction
//   its creation (directory entry included) went into, or a later one;
// - ext4 without one: its fsync and fdatasync also write the parent directory
//   of a file created since it was last flushed (ext4_sync_parent, since 2010);
// - XFS: the fsync forces the log up to the inode's last change, its creation
//   in the same transaction as the directory entry.
// Anything else (tmpfs, overlayfs, NFS, ext2's own driver, ...) gets the
// folder's fsync.
import { stat, readFile } from 'node:fs/promises';

const NAMES_DURABLE_WITH_DATA = new Set(['ext4', 'xfs']);

/** The type of the file system `path` is on, as /proc/self/mountinfo names it; undefined where that cannot be told. */
export async function fileSystemType(path: string): Promise<string | undefined> {
  const { dev } = await stat(path, { bigint: true });
  // Linux's dev_t: 12 bits of major and 20 of minor, split around each other.
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const id = `${major}:${minor}`;
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw": the type follows the " - ".
    const fields = line.split(' ');
    if (fields[2] !== id) continue;
    const separator = fields.indexOf('-', 6);
    if (separator > 0) return fields[separator + 1];
  }
  return undefined;
}

/** Whether files created under `directory` have their names made durable by their own fsync/fdatasync (see above). */
export async function namesDurableWithData(directory: string): Promise<boolean> {
  const type = await fileSystemType(directory);
  return type !== undefined && NAMES_DURABLE_WITH_DATA.has(type);
}
