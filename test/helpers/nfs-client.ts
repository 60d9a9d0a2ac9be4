// NFSv3 and MOUNT calls over the test RPC client, for tests that look at
// exact statuses and attributes (libnfs's tools and the guest's kernel are the
// real clients; this one reaches corners they do not).
import { MOUNT_PROGRAM, MOUNT_V3 } from '../../src/share/nfs/mount-program.ts';
import { NFS_PROGRAM, NFS_V3, readFattr, type Fattr } from '../../src/share/nfs/nfs3-xdr.ts';
import type { OpaqueAuth } from '../../src/share/rpc/message.ts';
import { XdrWriter, type XdrReader } from '../../src/share/rpc/xdr.ts';
import { authSys, RpcTestClient } from './rpc-client.ts';

export interface SattrIn {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
}

function writeSattr(writer: XdrWriter, s: SattrIn = {}): void {
  writer.bool(s.mode !== undefined);
  if (s.mode !== undefined) writer.uint32(s.mode);
  writer.bool(s.uid !== undefined);
  if (s.uid !== undefined) writer.uint32(s.uid);
  writer.bool(s.gid !== undefined);
  if (s.gid !== undefined) writer.uint32(s.gid);
  writer.bool(s.size !== undefined);
  if (s.size !== undefined) writer.uint64(s.size);
  writer.uint32(0).uint32(0);
}

function postOp(reader: XdrReader): Fattr | undefined {
  return reader.bool() ? readFattr(reader) : undefined;
}

function skipWcc(reader: XdrReader): Fattr | undefined {
  if (reader.bool()) {
    reader.uint64();
    reader.uint64();
    reader.uint64();
  }
  return postOp(reader);
}

export interface ReaddirEntry {
  fileid: bigint;
  name: string;
  cookie: bigint;
  attrs?: Fattr;
  handle?: Buffer;
}

export class NfsTestClient {
  constructor(
    readonly rpc: RpcTestClient,
    readonly cred: OpaqueAuth = authSys(),
  ) {}

  static async connect(port: number, cred?: OpaqueAuth): Promise<NfsTestClient> {
    return new NfsTestClient(await RpcTestClient.connect(port), cred);
  }

  /** Calls an NFS procedure; resolves to the status and a reader past it. */
  async nfs(procedure: number, args: (w: XdrWriter) => void): Promise<{ status: number; results: XdrReader }> {
    const reply = await this.rpc.call(NFS_PROGRAM, NFS_V3, procedure, args, this.cred);
    if (reply.kind !== 'success') throw new Error(`RPC refused procedure ${procedure}: ${JSON.stringify(reply)}`);
    return { status: reply.results.uint32(), results: reply.results };
  }

  async mount(path: string): Promise<{ status: number; handle?: Buffer; flavors?: number[] }> {
    const reply = await this.rpc.call(MOUNT_PROGRAM, MOUNT_V3, 1, (w) => w.string(path), this.cred);
    if (reply.kind !== 'success') throw new Error(`MNT refused: ${JSON.stringify(reply)}`);
    const status = reply.results.uint32();
    if (status !== 0) return { status };
    return { status, handle: Buffer.from(reply.results.opaque(64)), flavors: reply.results.array(16, (r) => r.uint32()) };
  }

  async getattr(fh: Buffer): Promise<{ status: number; attrs?: Fattr }> {
    const { status, results } = await this.nfs(1, (w) => w.opaque(fh));
    return status === 0 ? { status, attrs: readFattr(results) } : { status };
  }

  async setattr(fh: Buffer, sattr: SattrIn): Promise<{ status: number; attrs?: Fattr }> {
    const { status, results } = await this.nfs(2, (w) => {
      w.opaque(fh);
      writeSattr(w, sattr);
      w.bool(false);
    });
    const attrs = skipWcc(results);
    return attrs ? { status, attrs } : { status };
  }

  async lookup(dir: Buffer, name: string | Buffer): Promise<{ status: number; handle?: Buffer; attrs?: Fattr }> {
    const { status, results } = await this.nfs(3, (w) =>
      typeof name === 'string' ? w.opaque(dir).string(name) : w.opaque(dir).opaque(name),
    );
    if (status !== 0) return { status };
    const handle = Buffer.from(results.opaque(64));
    const attrs = postOp(results);
    return attrs ? { status, handle, attrs } : { status, handle };
  }

  async access(fh: Buffer, mask: number): Promise<{ status: number; granted?: number }> {
    const { status, results } = await this.nfs(4, (w) => w.opaque(fh).uint32(mask));
    postOp(results);
    return status === 0 ? { status, granted: results.uint32() } : { status };
  }

  async readlink(fh: Buffer): Promise<{ status: number; target?: string }> {
    const { status, results } = await this.nfs(5, (w) => w.opaque(fh));
    postOp(results);
    return status === 0 ? { status, target: results.string(4096) } : { status };
  }

  async read(fh: Buffer, offset: number, count: number): Promise<{ status: number; data?: Buffer; eof?: boolean }> {
    const { status, results } = await this.nfs(6, (w) => w.opaque(fh).uint64(offset).uint32(count));
    postOp(results);
    if (status !== 0) return { status };
    results.uint32();
    const eof = results.bool();
    return { status, eof, data: Buffer.from(results.opaque(1 << 24)) };
  }

  async write(
    fh: Buffer,
    offset: number,
    data: Buffer,
    stable = 0,
  ): Promise<{ status: number; count?: number; committed?: number; verifier?: Buffer }> {
    const { status, results } = await this.nfs(7, (w) => w.opaque(fh).uint64(offset).uint32(data.length).uint32(stable).opaque(data));
    skipWcc(results);
    if (status !== 0) return { status };
    return { status, count: results.uint32(), committed: results.uint32(), verifier: Buffer.from(results.fixedOpaque(8)) };
  }

  /** mode: 0 UNCHECKED, 1 GUARDED (with sattr), 2 EXCLUSIVE (with verifier). */
  async create(
    dir: Buffer,
    name: string,
    how: { mode: 0 | 1; sattr?: SattrIn } | { mode: 2; verifier: Buffer },
  ): Promise<{ status: number; handle?: Buffer; attrs?: Fattr }> {
    const { status, results } = await this.nfs(8, (w) => {
      w.opaque(dir).string(name).uint32(how.mode);
      if (how.mode === 2) w.fixedOpaque(how.verifier);
      else writeSattr(w, how.sattr);
    });
    return this.dirop(status, results);
  }

  private dirop(status: number, results: XdrReader): { status: number; handle?: Buffer; attrs?: Fattr } {
    if (status !== 0) return { status };
    const handle = results.bool() ? Buffer.from(results.opaque(64)) : undefined;
    const attrs = postOp(results);
    return { status, ...(handle ? { handle } : {}), ...(attrs ? { attrs } : {}) };
  }

  async mkdir(dir: Buffer, name: string, sattr: SattrIn = {}): Promise<{ status: number; handle?: Buffer; attrs?: Fattr }> {
    const { status, results } = await this.nfs(9, (w) => {
      w.opaque(dir).string(name);
      writeSattr(w, sattr);
    });
    return this.dirop(status, results);
  }

  async symlink(dir: Buffer, name: string, target: string): Promise<{ status: number; handle?: Buffer; attrs?: Fattr }> {
    const { status, results } = await this.nfs(10, (w) => {
      w.opaque(dir).string(name);
      writeSattr(w, {});
      w.string(target);
    });
    return this.dirop(status, results);
  }

  async mknod(dir: Buffer, name: string): Promise<number> {
    return (await this.nfs(11, (w) => w.opaque(dir).string(name).uint32(6))).status;
  }

  async remove(dir: Buffer, name: string): Promise<number> {
    return (await this.nfs(12, (w) => w.opaque(dir).string(name))).status;
  }

  async rmdir(dir: Buffer, name: string): Promise<number> {
    return (await this.nfs(13, (w) => w.opaque(dir).string(name))).status;
  }

  async rename(fromDir: Buffer, fromName: string, toDir: Buffer, toName: string): Promise<number> {
    return (await this.nfs(14, (w) => w.opaque(fromDir).string(fromName).opaque(toDir).string(toName))).status;
  }

  async link(file: Buffer, dir: Buffer, name: string): Promise<number> {
    return (await this.nfs(15, (w) => w.opaque(file).opaque(dir).string(name))).status;
  }

  async readdir(
    dir: Buffer,
    cookie: bigint,
    verifier: Buffer,
    count: number,
    plus = false,
  ): Promise<{ status: number; entries: ReaddirEntry[]; eof: boolean; verifier: Buffer }> {
    const { status, results } = await this.nfs(plus ? 17 : 16, (w) => {
      w.opaque(dir).uint64(cookie).fixedOpaque(verifier).uint32(count);
      if (plus) w.uint32(count * 4);
    });
    postOp(results);
    if (status !== 0) return { status, entries: [], eof: false, verifier };
    const cookieVerifier = Buffer.from(results.fixedOpaque(8));
    const entries: ReaddirEntry[] = [];
    while (results.bool()) {
      const entry: ReaddirEntry = { fileid: results.uint64(), name: results.string(1024), cookie: results.uint64() };
      if (plus) {
        const attrs = postOp(results);
        if (attrs) entry.attrs = attrs;
        if (results.bool()) entry.handle = Buffer.from(results.opaque(64));
      }
      entries.push(entry);
    }
    return { status, entries, eof: results.bool(), verifier: cookieVerifier };
  }

  /** Every entry of a directory, READDIR after READDIR. */
  async readdirAll(dir: Buffer, count = 8192, plus = false): Promise<ReaddirEntry[]> {
    const all: ReaddirEntry[] = [];
    let cookie = 0n;
    let verifier: Buffer = Buffer.alloc(8);
    for (;;) {
      const page = await this.readdir(dir, cookie, verifier, count, plus);
      if (page.status !== 0) throw new Error(`READDIR status ${page.status}`);
      all.push(...page.entries);
      if (page.eof) return all;
      cookie = page.entries[page.entries.length - 1]!.cookie;
      verifier = page.verifier;
    }
  }

  async commit(fh: Buffer): Promise<{ status: number; verifier?: Buffer }> {
    const { status, results } = await this.nfs(21, (w) => w.opaque(fh).uint64(0).uint32(0));
    skipWcc(results);
    return status === 0 ? { status, verifier: Buffer.from(results.fixedOpaque(8)) } : { status };
  }

  /** A procedure whose success results the test reads itself. */
  async raw(procedure: number, fh: Buffer): Promise<{ status: number; results: XdrReader }> {
    return this.nfs(procedure, (w) => w.opaque(fh));
  }

  close(): void {
    this.rpc.close();
  }
}
