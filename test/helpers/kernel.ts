// The running Linux kernel's version, for tests of a feature that came with one.
import { release } from 'node:os';

/** Whether the kernel is `major.minor` or later. */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [have = 0, haveMinor = 0] = release().split('.').map(Number);
  return have > major || (have === major && haveMinor >= minor);
}
