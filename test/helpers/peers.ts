// The peer-missing rule: a test whose real peer (a program from a Debian package) is not installed
// fails under CI=true, naming the package to install, and otherwise skips where everyone sees it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findOnPath(binary: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Call in a before() hook: fails (CI) or skips the suite when a peer binary is absent. */
export function requirePeers(
  context: Mocha.Context,
  peers: ReadonlyArray<{ readonly binary: string; readonly debianPackage: string }>,
): void {
  const missing = peers.filter((p) => findOnPath(p.binary) === undefined);
  if (missing.length === 0) return;
  const what = missing.map((p) => `${p.binary} (Debian package ${p.debianPackage})`).join(', ');
  if (process.env['CI'] === 'true') {
    throw new Error(
      `peer missing: ${what}; install it with apt-get install ${[...new Set(missing.map((p) => p.debianPackage))].join(' ')}`,
    );
  }
  console.warn(`      SKIPPED: peer missing: ${what}`);
  context.skip();
}

/**
 * The Debian package of each peer program the tests run. .ci/run installs
 * these packages; add a row here and the package there together.
 */
export const peerPackages: Readonly<Record<string, string>> = {
  'iscsi-ls': 'libiscsi-bin',
  'iscsi-inq': 'libiscsi-bin',
  'iscsi-readcapacity16': 'libiscsi-bin',
  'iscsi-swp': 'libiscsi-bin',
  'iscsi-perf': 'libiscsi-bin',
  'iscsi-test-cu': 'libiscsi-bin',
  tgtd: 'tgt',
  tgtadm: 'tgt',
  tgtimg: 'tgt',
  'qemu-system-x86_64': 'qemu-system-x86',
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  radosgw: 'radosgw',
  ceph: 'ceph-common',
  chromium: 'chromium',
  'nfs-ls': 'libnfs-utils',
  'nfs-cp': 'libnfs-utils',
  'nfs-cat': 'libnfs-utils',
  perl: 'perl-base',
  'ganesha.nfsd': 'nfs-ganesha',
  rpcbind: 'rpcbind',
  prlimit: 'util-linux',
  openssl: 'openssl',
  strace: 'strace',
};

/**
 * `requirePeer(this, 'iscsi-ls')` in a before() hook or a test: the Debian
 * package comes from peerPackages.
 */
export function requirePeer(context: Mocha.Context, ...binaries: readonly string[]): void {
  requirePeers(
    context,
    binaries.map((binary) => {
      const debianPackage = peerPackages[binary];
      if (debianPackage === undefined)
        throw new Error(`no Debian package known for ${binary}: add it to peerPackages in test/helpers/peers.ts`);
      return { binary, debianPackage };
    }),
  );
}
