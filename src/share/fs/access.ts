// Who a caller is on a share, and what it may do: squash (root, all, none)
// with the share's anonymous uid and gid, POSIX permission bits, and the
// share's allowed client addresses.
import net from 'node:net';
import type { PosixAttributes } from './attributes.ts';

export type Squash = 'root' | 'all' | 'none';

export interface Caller {
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

/** What the client says it is: undefined for AUTH_NONE. */
export type ClaimedIdentity = Caller | undefined;

export function effectiveCaller(claimed: ClaimedIdentity, squash: Squash, anonUid: number, anonGid: number): Caller {
  const anonymous = { uid: anonUid, gid: anonGid, gids: [] };
  if (!claimed || squash === 'all') return anonymous;
  if (squash === 'root' && claimed.uid === 0) return anonymous;
  return claimed;
}

export const Access = { Read: 0x01, Lookup: 0x02, Modify: 0x04, Extend: 0x08, Delete: 0x10, Execute: 0x20 } as const;

/** The rwx bits (4, 2, 1) the caller has on a node. */
export function permissionBits(caller: Caller, attrs: Pick<PosixAttributes, 'mode' | 'uid' | 'gid' | 'type'>): number {
  if (caller.uid === 0) {
    // root reads and writes anything; it executes a file only when someone may.
    const anyExec = (attrs.mode & 0o111) !== 0 || attrs.type === 'dir';
    return 6 | (anyExec ? 1 : 0);
  }
  if (caller.uid === attrs.uid) return (attrs.mode >> 6) & 7;
  if (caller.gid === attrs.gid || caller.gids.includes(attrs.gid)) return (attrs.mode >> 3) & 7;
  return attrs.mode & 7;
}

export function mayRead(caller: Caller, attrs: Pick<PosixAttributes, 'mode' | 'uid' | 'gid' | 'type'>): boolean {
  return (permissionBits(caller, attrs) & 4) !== 0;
}

export function mayWrite(caller: Caller, attrs: Pick<PosixAttributes, 'mode' | 'uid' | 'gid' | 'type'>): boolean {
  return (permissionBits(caller, attrs) & 2) !== 0;
}

export function maySearch(caller: Caller, attrs: Pick<PosixAttributes, 'mode' | 'uid' | 'gid' | 'type'>): boolean {
  return (permissionBits(caller, attrs) & 1) !== 0;
}

/** A list of IPv4/IPv6 addresses and CIDR blocks; an empty list allows everyone. */
export class ClientList {
  private readonly blocks = new net.BlockList();
  readonly entries: readonly string[];

  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const entry of entries) {
      const parsed = parseClientEntry(entry);
      if (parsed.prefix === undefined) this.blocks.addAddress(parsed.address, parsed.family);
      else this.blocks.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
  }

  allows(address: string): boolean {
    if (this.entries.length === 0) return true;
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    return this.blocks.check(address, family);
  }
}

/** Parses "10.0.0.0/8", "192.0.2.7" or "2001:db8::/32"; throws RangeError with what to write instead. */
export function parseClientEntry(entry: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefixText, extra] = entry.trim().split('/');
  const version = net.isIP(address);
  if (version === 0 || extra !== undefined) {
    throw new RangeError(`${JSON.stringify(entry)} is not an IP address or CIDR block: write e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32`);
  }
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, family };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  const max = version === 4 ? 32 : 128;
  if (!(prefix >= 0 && prefix <= max)) throw new RangeError(`the prefix length in ${JSON.stringify(entry)} must be 0 to ${max}`);
  return { address, prefix, family };
}
