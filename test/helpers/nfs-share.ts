// An NFS server on 127.0.0.1 (free ports) serving shares on the in-memory
// stand-in for the engine, with the namespace in a real LevelDB catalog: for
// protocol tests with libnfs's tools and the test RPC client. restart() stops
// the server and opens everything again on the same catalog, as a gateway
// restart does.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Catalog } from '../../src/catalog/catalog.ts';
import { silentLogger } from '../../src/log.ts';
import { ClientList } from '../../src/share/fs/access.ts';
import { ShareFs, type ShareSettings } from '../../src/share/fs/share-fs.ts';
import { NfsServer, type NfsAddresses } from '../../src/share/nfs/nfs-server.ts';
import type { ExportedShares } from '../../src/share/nfs/nfs3-program.ts';
import { MemoryShareObjects } from './memory-share-objects.ts';

export interface ShareOptions extends Partial<Omit<ShareSettings, 'clients'>> {
  readonly clients?: readonly string[];
}

export function testShareSettings(options: ShareOptions = {}): ShareSettings {
  const { clients, ...rest } = options;
  return {
    name: 'files',
    id: 1,
    readOnly: false,
    squash: 'none',
    anonUid: 65534,
    anonGid: 65534,
    defaults: { fileMode: 0o644, dirMode: 0o755, uid: 0, gid: 0 },
    cacheStaleTimeoutMs: 0,
    settleMs: 50,
    keyPrefix: '',
    ...rest,
    clients: new ClientList(clients ?? []),
  };
}

export interface NfsShareFixture {
  readonly addresses: NfsAddresses;
  readonly shares: Map<string, { fs: ShareFs; objects: MemoryShareObjects }>;
  readonly server: NfsServer;
  /** libnfs's URL of a path in a share. */
  url(pathInShare?: string, share?: string): string;
  fs(share?: string): ShareFs;
  objects(share?: string): MemoryShareObjects;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startNfsShare(options: { shares?: ShareOptions[]; portmap?: boolean } = {}): Promise<NfsShareFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nfs-share-'));
  const settings = (options.shares ?? [{}]).map((s, i) => testShareSettings({ id: i + 1, ...s }));
  const objectsByName = new Map(settings.map((s) => [s.name, new MemoryShareObjects()]));
  let catalog: Catalog;
  let server: NfsServer;
  let addresses: NfsAddresses;
  const shares = new Map<string, { fs: ShareFs; objects: MemoryShareObjects }>();

  const open = async (ports?: NfsAddresses) => {
    catalog = await Catalog.open(path.join(dir, 'catalog'));
    shares.clear();
    for (const s of settings) {
      const objects = objectsByName.get(s.name)!;
      shares.set(s.name, {
        fs: await ShareFs.open({ settings: s, section: catalog.section('shares'), objects, logger: silentLogger() }),
        objects,
      });
    }
    const exported: ExportedShares = {
      byId: (id) => [...shares.values()].find((s) => s.fs.settings.id === id)?.fs,
      byName: (name) => shares.get(name)?.fs,
      all: () => [...shares.values()].map((s) => s.fs),
    };
    server = new NfsServer({
      host: '127.0.0.1',
      nfsPort: ports?.nfsPort ?? 0,
      mountPort: ports?.mountPort ?? 0,
      portmapPort: options.portmap ? (ports?.portmapPort ?? 0) : undefined,
      shares: exported,
      logger: silentLogger(),
    });
    addresses = await server.start();
  };
  const close = async () => {
    await server.close();
    for (const { fs } of shares.values()) await fs.close();
    await catalog.close();
  };
  await open();

  return {
    get addresses() {
      return addresses;
    },
    shares,
    get server() {
      return server;
    },
    url: (pathInShare = '', share = 'files') =>
      `nfs://127.0.0.1/${share}${pathInShare ? `/${pathInShare}` : ''}?nfsport=${addresses.nfsPort}&mountport=${addresses.mountPort}`,
    fs: (share = 'files') => shares.get(share)!.fs,
    objects: (share = 'files') => shares.get(share)!.objects,
    restart: async () => {
      const ports = addresses;
      await close();
      await open(ports);
    },
    stop: async () => {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
