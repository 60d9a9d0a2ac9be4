// MOUNT version 3 (RFC 1813 appendix I): hands out the root handle of an
// exported share ("/NAME", or a directory under it), lists the exports and the
// mounts. Clients outside a share's allowed addresses get MNT3ERR_ACCES.
import { FsError } from '../fs/errors.ts';
import type { RpcCallContext, RpcProcedure, RpcProgram } from '../rpc/server.ts';
import { AuthFlavor } from '../rpc/message.ts';
import { XdrWriter } from '../rpc/xdr.ts';
import { encodeHandle } from './file-handle.ts';
import { Nfs3Status, statusOf } from './nfs3-xdr.ts';
import type { ExportedShares } from './nfs3-program.ts';

export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;
const MNTPATHLEN = 1024;
const MNTNAMLEN = 255;

export const MountStatus = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  ACCES: 13,
  NOTDIR: 20,
  INVAL: 22,
  NAMETOOLONG: 63,
  NOTSUPP: 10004,
  SERVERFAULT: 10006,
} as const;

const MOUNTABLE = new Set<number>(Object.values(MountStatus));

interface MountEntry {
  readonly host: string;
  readonly path: string;
}

export function mountProgram(shares: ExportedShares): RpcProgram {
  const mounts: MountEntry[] = [];
  const empty = () => new XdrWriter(0);

  async function mount(path: string, context: RpcCallContext): Promise<XdrWriter> {
    const parts = path.split('/').filter((p) => p !== '');
    const fs = parts.length > 0 ? shares.byName(parts[0]!) : undefined;
    if (!fs) return new XdrWriter().uint32(MountStatus.NOENT);
    if (!fs.settings.clients.allows(context.remoteAddress)) return new XdrWriter().uint32(MountStatus.ACCES);
    let id = fs.rootId;
    try {
      const caller = fs.caller(context.credentials.flavor === 'sys' ? context.credentials : undefined);
      for (const part of parts.slice(1)) id = (await fs.lookup(id, part, caller)).id;
      if ((await fs.getattr(id)).type !== 'dir') return new XdrWriter().uint32(MountStatus.NOTDIR);
    } catch (err) {
      if (!(err instanceof FsError)) throw err;
      const status = statusOf(err.code);
      return new XdrWriter().uint32(MOUNTABLE.has(status) ? status : Nfs3Status.IO);
    }
    if (!mounts.some((m) => m.host === context.remoteAddress && m.path === path)) mounts.push({ host: context.remoteAddress, path });
    const writer = new XdrWriter().uint32(MountStatus.OK).opaque(encodeHandle({ shareId: fs.settings.id, fileId: id }));
    return writer.uint32(2).uint32(AuthFlavor.Sys).uint32(AuthFlavor.None);
  }

  const procedures = new Map<number, RpcProcedure>([
    [0, { name: 'NULL', handler: empty }],
    [1, { name: 'MNT', handler: (args, context) => mount(args.string(MNTPATHLEN), context) }],
    [
      2,
      {
        name: 'DUMP',
        handler: () => {
          const writer = new XdrWriter();
          for (const entry of mounts) writer.bool(true).string(entry.host.slice(0, MNTNAMLEN)).string(entry.path);
          return writer.bool(false);
        },
      },
    ],
    [
      3,
      {
        name: 'UMNT',
        handler: (args, context) => {
          const path = args.string(MNTPATHLEN);
          const at = mounts.findIndex((m) => m.host === context.remoteAddress && m.path === path);
          if (at >= 0) mounts.splice(at, 1);
          return empty();
        },
      },
    ],
    [
      4,
      {
        name: 'UMNTALL',
        handler: (_args, context) => {
          for (let i = mounts.length - 1; i >= 0; i--) if (mounts[i]!.host === context.remoteAddress) mounts.splice(i, 1);
          return empty();
        },
      },
    ],
    [
      5,
      {
        name: 'EXPORT',
        handler: () => {
          const writer = new XdrWriter();
          for (const fs of shares.all()) {
            writer.bool(true).string(`/${fs.settings.name}`);
            for (const client of fs.settings.clients.entries) writer.bool(true).string(client);
            writer.bool(false);
          }
          return writer.bool(false);
        },
      },
    ],
  ]);
  return { program: MOUNT_PROGRAM, version: MOUNT_V3, name: 'mount', procedures };
}
