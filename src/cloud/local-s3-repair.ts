// s3rver writes an object's metadata file in place, so a process stopped in the
// middle of a PUT leaves a torn file behind, and s3rver then fails every listing
// of that bucket (HeadBucket among them). Such a PUT was never acknowledged: its
// object is removed before the server starts, and the cache engine, which still
// holds the data as not uploaded, puts it again.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const METADATA = '._S3rver_metadata.json';
const OBJECT = '._S3rver_object';
const MD5 = /^[0-9a-f]{32}$/;

/** Files checked at once: one at a time, a restart over 10,000 objects spent some 20 s here. */
const CHECKS_AT_ONCE = 32;

/** Removes torn objects under an s3rver directory; returns the paths of the objects removed. */
export async function repairLocalS3Store(directory: string): Promise<string[]> {
  const removed: string[] = [];
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith(METADATA) || entry.name.endsWith(`${OBJECT}.md5`)) files.push(path);
    }
  };
  const check = async (path: string): Promise<void> => {
    if (path.endsWith(METADATA)) {
      const base = path.slice(0, -METADATA.length);
      if (await parses(path)) return;
      await Promise.all([rm(path, { force: true }), rm(base + OBJECT, { force: true }), rm(`${base}${OBJECT}.md5`, { force: true })]);
      removed.push(base);
    } else {
      // A torn one is dropped: s3rver computes a missing one again.
      const md5 = await readFile(path, 'utf8').catch(() => undefined);
      if (md5 !== undefined && !MD5.test(md5.trim())) await rm(path, { force: true });
    }
  };
  await walk(directory);
  let next = 0;
  await Promise.all(
    Array.from({ length: CHECKS_AT_ONCE }, async () => {
      while (next < files.length) await check(files[next++]!);
    }),
  );
  return removed.sort();
}

async function parses(path: string): Promise<boolean> {
  try {
    JSON.parse(await readFile(path, 'utf8'));
    return true;
  } catch {
    return false;
  }
}
