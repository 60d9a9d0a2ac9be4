// Volume and snapshot ids as AWS writes them (vol-…, snap-…), random enough
// that gateways sharing a bucket, or rebuilt on it, never pick the same one.
import { randomBytes } from 'node:crypto';

export const VOLUME_ID = /^vol-[0-9a-f]{16}$/;
export const SNAPSHOT_ID = /^snap-[0-9a-f]{16}$/;

export function newVolumeId(): string {
  return `vol-${randomBytes(8).toString('hex')}`;
}

export function newSnapshotId(): string {
  return `snap-${randomBytes(8).toString('hex')}`;
}
