// NFSv3 semantics over TCP (RFC 1813), with the exact statuses a client sees:
// create modes, write stability and COMMIT's verifier, every refusal, renames
// (copy + delete in the bucket), symbolic links, attributes in the objects'
// metadata under AWS's names, squash, allowed clients, and the bucket's own
// changes coming in by refresh and by the cache-stale timeout.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeHandle } from '../../src/share/nfs/file-handle.ts';
import { Nfs3Status as S } from '../../src/share/nfs/nfs3-xdr.ts';
import { authSys } from '../helpers/rpc-client.ts';
import { NfsTestClient } from '../helpers/nfs-client.ts';
import { startNfsShare, type NfsShareFixture, type ShareOptions } from '../helpers/nfs-share.ts';

async function setUp(options: ShareOptions = {}, uid = 0): Promise<{ share: NfsShareFixture; client: NfsTestClient; root: Buffer }> {
  const share = await startNfsShare({ shares: [options] });
  const client = await NfsTestClient.connect(share.addresses.nfsPort, authSys(uid, uid));
  const mounted = await client.mount(`/${options.name ?? 'files'}`);
  assert.equal(mounted.status, 0);
  return { share, client, root: mounted.handle! };
}

const COUNT = Number(process.env['NFS_BIG_DIR'] ?? 100_000);

describe('@slow NFSv3 share', function () {
  this.timeout(60_000);
  let share: NfsShareFixture;
  let client: NfsTestClient;
  let root: Buffer;

  beforeEach(async () => {
    ({ share, client, root } = await setUp());
  });
  afterEach(async () => {
    client.close();
    await share.stop();
  });

  describe('MOUNT', () => {
    it('mounts a share with AUTH_SYS and AUTH_NONE offered, and a directory under it', async () => {
      const mounted = await client.mount('/files');
      assert.deepEqual(mounted.flavors, [1, 0]);
      const sub = await client.mkdir(root, 'sub');
      const subMount = await client.mount('/files/sub');
      assert.equal(subMount.status, 0);
      assert.deepEqual(subMount.handle, sub.handle);
    });

    it('answers MNT3ERR_NOENT for an unknown export and MNT3ERR_NOTDIR for a file', async () => {
      assert.equal((await client.mount('/nothere')).status, 2);
      await client.create(root, 'f', { mode: 1 });
      assert.equal((await client.mount('/files/f')).status, 20);
    });
  });

  describe('files', () => {
    it('writes UNSTABLE, commits with the same verifier, and reads back', async () => {
      const file = (await client.create(root, 'a.bin', { mode: 1, sattr: { mode: 0o640 } })).handle!;
      const data = randomBytes(300_000);
      const w1 = await client.write(file, 0, data.subarray(0, 200_000));
      const w2 = await client.write(file, 200_000, data.subarray(200_000));
      assert.equal(w1.committed, 0);
      const commit = await client.commit(file);
      assert.deepEqual(commit.verifier, w1.verifier);
      assert.deepEqual(w2.verifier, w1.verifier);
      const read = await client.read(file, 0, 1 << 20);
      assert.ok(read.data!.equals(data));
      assert.equal(read.eof, true);
      const attrs = (await client.getattr(file)).attrs!;
      assert.equal(attrs.size, 300_000n);
      assert.equal(attrs.mode, 0o640);
    });

    it('reads a file sequentially, and reads what a WRITE changed after the range it was reading ahead', async () => {
      const file = (await client.create(root, 'ahead.bin', { mode: 1 })).handle!;
      const data = randomBytes(512 * 1024);
      await client.write(file, 0, data);
      const first = await client.read(file, 0, 128 * 1024); // the next 128 KiB are read ahead now
      assert.ok(first.data!.equals(data.subarray(0, 128 * 1024)));
      const changed = randomBytes(128 * 1024);
      await client.write(file, 128 * 1024, changed);
      assert.ok((await client.read(file, 128 * 1024, 128 * 1024)).data!.equals(changed), 'not the bytes read ahead before the WRITE');
      const rest = await client.read(file, 256 * 1024, 256 * 1024);
      assert.ok(rest.data!.equals(data.subarray(256 * 1024)));
      assert.equal(rest.eof, true);
    });

    it('answers FILE_SYNC writes as committed', async () => {
      const file = (await client.create(root, 'b', { mode: 0 })).handle!;
      assert.equal((await client.write(file, 0, Buffer.from('x'), 2)).committed, 2);
    });

    it('changes the write verifier when the gateway restarts, and keeps what was committed', async () => {
      const file = (await client.create(root, 'c', { mode: 1 })).handle!;
      const before = await client.write(file, 0, Buffer.from('committed'));
      await client.commit(file);
      client.close();
      await share.restart();
      client = await NfsTestClient.connect(share.addresses.nfsPort);
      const after = await client.write(file, 9, Buffer.from('!'));
      assert.notDeepEqual(after.verifier, before.verifier);
      assert.equal((await client.read(file, 0, 100)).data!.toString(), 'committed!');
    });

    it('reads zeros in a sparse file and in a file extended by SETATTR, and truncates', async () => {
      const file = (await client.create(root, 'sparse', { mode: 1 })).handle!;
      await client.write(file, 1_000_000, Buffer.from('end'));
      const hole = await client.read(file, 999_990, 13);
      assert.deepEqual(hole.data, Buffer.concat([Buffer.alloc(10), Buffer.from('end')]));
      assert.equal((await client.setattr(file, { size: 1_000_001 })).status, 0);
      assert.equal((await client.read(file, 999_999, 10)).data!.toString(), '\0e');
      assert.equal((await client.setattr(file, { size: 2_000_000 })).status, 0);
      assert.deepEqual((await client.read(file, 1_999_998, 10)).data, Buffer.alloc(2));
    });

    it('creates UNCHECKED over an existing file, refuses GUARDED, and replays EXCLUSIVE with the same verifier', async () => {
      const first = await client.create(root, 'x', { mode: 0 });
      const again = await client.create(root, 'x', { mode: 0 });
      assert.deepEqual(again.handle, first.handle);
      assert.equal((await client.create(root, 'x', { mode: 1 })).status, S.EXIST);
      const verifier = Buffer.from('12345678');
      const exclusive = await client.create(root, 'y', { mode: 2, verifier });
      assert.equal(exclusive.status, 0);
      assert.deepEqual((await client.create(root, 'y', { mode: 2, verifier })).handle, exclusive.handle);
      assert.equal((await client.create(root, 'y', { mode: 2, verifier: Buffer.from('87654321') })).status, S.EXIST);
    });
  });

  describe('refusals', () => {
    it('refuses names with "/" or NUL (INVAL) and over 255 bytes (NAMETOOLONG)', async () => {
      assert.equal((await client.create(root, 'a/b', { mode: 1 })).status, S.INVAL);
      assert.equal((await client.create(root, 'a\0b', { mode: 1 })).status, S.INVAL);
      assert.equal((await client.lookup(root, 'a/b')).status, S.INVAL);
      assert.equal((await client.create(root, 'n'.repeat(256), { mode: 1 })).status, S.NAMETOOLONG);
      assert.equal((await client.lookup(root, 'n'.repeat(256))).status, S.NAMETOOLONG);
      assert.equal((await client.create(root, 'n'.repeat(255), { mode: 1 })).status, 0);
      assert.equal((await client.lookup(root, Buffer.from([0xff, 0xfe]))).status, S.INVAL);
    });

    it('refuses a path whose object key would exceed 1,024 bytes', async () => {
      let dir = root;
      for (let i = 0; i < 4; i++) dir = (await client.mkdir(dir, `${i}`.repeat(250))).handle!;
      assert.equal((await client.create(dir, 'f'.repeat(19), { mode: 1 })).status, 0, '1,023 bytes');
      assert.equal((await client.create(dir, 'f'.repeat(20), { mode: 1 })).status, 0, '1,024 bytes');
      assert.equal((await client.create(dir, 'f'.repeat(21), { mode: 1 })).status, S.NAMETOOLONG);
      assert.equal((await client.mkdir(dir, 'd'.repeat(20))).status, S.NAMETOOLONG, "a directory's key ends in /");
    });

    it('answers NOENT, NOTDIR, ISDIR, NOTEMPTY and EXIST where POSIX does', async () => {
      assert.equal((await client.lookup(root, 'missing')).status, S.NOENT);
      const file = (await client.create(root, 'file', { mode: 1 })).handle!;
      const dir = (await client.mkdir(root, 'dir')).handle!;
      await client.create(dir, 'inside', { mode: 1 });
      assert.equal((await client.lookup(file, 'x')).status, S.NOTDIR);
      assert.equal(await client.rmdir(root, 'file'), S.NOTDIR);
      assert.equal(await client.remove(root, 'dir'), S.ISDIR);
      assert.equal((await client.read(dir, 0, 10)).status, S.ISDIR);
      assert.equal(await client.rmdir(root, 'dir'), S.NOTEMPTY);
      assert.equal((await client.mkdir(root, 'dir')).status, S.EXIST);
      assert.equal(await client.remove(root, 'missing'), S.NOENT);
    });

    it('answers STALE for the handle of a removed file and BADHANDLE for a handle that is not ours', async () => {
      const file = (await client.create(root, 'gone', { mode: 1 })).handle!;
      assert.equal(await client.remove(root, 'gone'), 0);
      assert.equal((await client.getattr(file)).status, S.STALE);
      assert.equal((await client.getattr(Buffer.from('not a handle'))).status, S.BADHANDLE);
      const otherShare = Buffer.from(file);
      otherShare.writeUInt32BE(99, 4);
      assert.equal((await client.getattr(otherShare)).status, S.STALE);
    });

    it('answers NOTSUPP to LINK and MKNOD, as AWS does', async () => {
      const file = (await client.create(root, 'f', { mode: 1 })).handle!;
      assert.equal(await client.link(file, root, 'hard'), S.NOTSUPP);
      assert.equal(await client.mknod(root, 'fifo'), S.NOTSUPP);
      assert.equal((await client.lookup(root, 'hard')).status, S.NOENT);
    });

    it('answers ACCES to a user without write permission, and PERM to chown by a non-root user', async () => {
      const user = await NfsTestClient.connect(share.addresses.nfsPort, authSys(1000, 1000));
      try {
        assert.equal((await user.create(root, 'nope', { mode: 1 })).status, S.ACCES);
        const mine = (await client.mkdir(root, 'mine', { mode: 0o777 })).handle!;
        const file = (await user.create(mine, 'f', { mode: 1 })).handle!;
        assert.equal((await user.getattr(file)).attrs!.uid, 1000);
        assert.equal((await user.setattr(file, { uid: 0 })).status, S.PERM);
        assert.equal((await user.setattr(file, { mode: 0o600 })).status, 0);
        const rootFile = (await client.create(root, 'rootfile', { mode: 1, sattr: { mode: 0o644 } })).handle!;
        assert.equal((await user.write(rootFile, 0, Buffer.from('x'))).status, S.ACCES);
        assert.equal((await user.read(rootFile, 0, 1)).status, 0);
      } finally {
        user.close();
      }
    });
  });

  describe('directories', () => {
    it('lists a directory of 100,000 entries completely with stable cookies while entries are removed', async function () {
      this.timeout(300_000);
      // The entries come from the bucket (put there by another S3 client), as a share over an existing bucket starts.
      for (let i = 0; i < COUNT; i++) share.objects().putFromElsewhere(`big/file-${String(i).padStart(6, '0')}`, Buffer.alloc(0));
      let t = Date.now();
      await share.fs().refresh('', true);
      const listedMs = Date.now() - t;
      const dir = (await client.lookup(root, 'big')).handle!;
      const fs = share.fs();
      const caller = fs.caller({ uid: 0, gid: 0, gids: [] });
      const dirId = (await fs.lookup(fs.rootId, 'big', caller)).id;
      const seen = new Set<string>();
      let cookie = 0n;
      let verifier: Buffer = Buffer.alloc(8);
      let pages = 0;
      t = Date.now();
      for (;;) {
        const page = await client.readdir(dir, cookie, verifier, 32 * 1024);
        assert.equal(page.status, 0);
        for (const entry of page.entries) {
          assert.ok(!seen.has(entry.name), `${entry.name} listed twice`);
          seen.add(entry.name);
        }
        // Remove what was listed, as rm -rf does between READDIRs: the next cookie still resumes in place.
        if (pages++ % 10 === 0) {
          for (const entry of page.entries.slice(0, 20))
            if (entry.name.startsWith('file-')) await fs.remove(dirId, caller, entry.name, 'file');
        }
        if (page.eof) break;
        cookie = page.entries[page.entries.length - 1]!.cookie;
        verifier = page.verifier;
      }
      assert.equal(seen.size, COUNT + 2, 'every entry plus . and ..');
      console.log(`      (listing ${COUNT} objects from the bucket took ${listedMs} ms, ${pages} READDIRs ${Date.now() - t} ms)`);
      assert.ok(pages > COUNT / 1000, `${pages} READDIRs`);
    });

    it('lists each entry once, in cookie order, after files are renamed in, over one another and removed between listings', async () => {
      const d = (await client.mkdir(root, 'd')).handle!;
      const elsewhere = (await client.mkdir(root, 'elsewhere')).handle!;
      await client.create(elsewhere, 'older', { mode: 1 });
      for (let i = 0; i < 30; i++) await client.create(d, `f${i}`, { mode: 1 });
      assert.equal((await client.readdirAll(d, 8192, true)).length, 32);
      // Between listings: an older file moves in (its id is below every other), one name replaces another, one goes.
      assert.equal(await client.rename(elsewhere, 'older', d, 'older'), 0);
      assert.equal(await client.rename(d, 'f3', d, 'f7'), 0);
      assert.equal(await client.remove(d, 'f20'), 0);
      await client.create(d, 'newest', { mode: 1 });
      const expected = ['.', '..', 'older', ...Array.from({ length: 30 }, (_, i) => `f${i}`), 'newest'].filter(
        (n) => !['f3', 'f20'].includes(n),
      );
      for (const plus of [false, true]) {
        // Small replies, so that the listing resumes from many cookies.
        const entries = await client.readdirAll(d, plus ? 1024 : 256, plus);
        const names = entries.map((e) => e.name);
        assert.deepEqual([...names].sort(), [...expected].sort());
        assert.equal(new Set(names).size, names.length, 'no entry listed twice');
        const cookies = entries.map((e) => e.cookie);
        assert.ok(
          cookies.every((c, i) => i === 0 || c > cookies[i - 1]!),
          'cookies ascend',
        );
      }
    });

    it('answers BAD_COOKIE for a cookie verifier from another directory', async () => {
      const a = (await client.mkdir(root, 'a')).handle!;
      const b = (await client.mkdir(root, 'b')).handle!;
      for (let i = 0; i < 5; i++) await client.create(a, `f${i}`, { mode: 1 });
      const page = await client.readdir(a, 0n, Buffer.alloc(8), 200);
      assert.ok(!page.eof);
      const wrong = await client.readdir(b, page.entries[1]!.cookie, page.verifier, 200);
      assert.equal(wrong.status, S.BAD_COOKIE);
    });

    it('returns attributes and handles in READDIRPLUS', async () => {
      const file = (await client.create(root, 'f', { mode: 1 })).handle!;
      await client.write(file, 0, Buffer.from('12345'));
      const entries = await client.readdirAll(root, 8192, true);
      const f = entries.find((e) => e.name === 'f')!;
      assert.equal(f.attrs!.size, 5n);
      assert.deepEqual(f.handle, file);
      assert.deepEqual(
        entries.map((e) => e.name),
        ['.', '..', 'f'],
      );
    });

    it('fills a READDIRPLUS reply to its dircount when the entries carry no attributes (listed from the bucket, not yet looked up)', async () => {
      for (let i = 0; i < 400; i++) share.objects().putFromElsewhere(`o-${String(i).padStart(6, '0')}`, Buffer.alloc(0));
      await share.fs().refresh('', false);
      const page = await client.readdir(root, 0n, Buffer.alloc(8), 8192, true);
      assert.equal(page.status, 0);
      assert.ok(!page.eof);
      assert.ok(page.entries.slice(2).every((e) => e.attrs === undefined && e.handle === undefined));
      // dircount counts each entry without its attributes and handle: "." and ".." 28 bytes each, "o-000000" 32.
      assert.equal(page.entries.length, 2 + Math.floor((8192 - 2 * 28) / 32));
    });

    it('counts the files and bytes not yet in the bucket (what tapegw share list and the console show) until they are uploaded', async () => {
      const settling = await setUp({ settleMs: 3_600_000 });
      try {
        const { client: c, root: top } = settling;
        const file = (await c.create(top, 'a.bin', { mode: 1 })).handle!;
        await c.write(file, 0, randomBytes(300_000));
        assert.deepEqual(
          settling.share.fs().stats(),
          { filesDirty: 1, bytesDirty: 300_000, filesFailingUpload: 0 },
          "the share's top has no object of its own to wait for",
        );
        await c.mkdir(top, 'sub');
        assert.deepEqual(
          settling.share.fs().stats(),
          { filesDirty: 2, bytesDirty: 300_000, filesFailingUpload: 0 },
          'a directory is an empty marker object',
        );
        await settling.share.fs().waitUploaded();
        assert.deepEqual(settling.share.fs().stats(), { filesDirty: 0, bytesDirty: 0, filesFailingUpload: 0 });
      } finally {
        settling.client.close();
        await settling.share.stop();
      }
    });

    it('renames files and directories across directories; the bucket follows by copy and delete', async () => {
      const a = (await client.mkdir(root, 'a')).handle!;
      const b = (await client.mkdir(root, 'b')).handle!;
      const sub = (await client.mkdir(a, 'sub')).handle!;
      const f = (await client.create(sub, 'f.txt', { mode: 1 })).handle!;
      await client.write(f, 0, Buffer.from('hello'));
      const g = (await client.create(a, 'g.txt', { mode: 1 })).handle!;
      await client.write(g, 0, Buffer.from('gee'));
      await share.fs().waitUploaded();
      assert.equal(await client.rename(a, 'g.txt', b, 'g2.txt'), 0);
      assert.equal(await client.rename(a, 'sub', b, 'moved'), 0);
      assert.equal((await client.read(f, 0, 10)).data!.toString(), 'hello', 'the handle survives the rename');
      await share.fs().waitUploaded();
      const keys = [...share.objects().bucket.keys()].sort();
      assert.deepEqual(keys, ['a/', 'b/', 'b/g2.txt', 'b/moved/', 'b/moved/f.txt']);
      assert.equal(share.objects().bucket.get('b/moved/f.txt')!.data.toString(), 'hello');
    });

    it('renames a directory before anything in it is uploaded: empty files and directories have no object to copy yet', async () => {
      const a = (await client.mkdir(root, 'a')).handle!;
      const sub = (await client.mkdir(a, 'sub')).handle!;
      const deeper = (await client.mkdir(sub, 'deeper')).handle!;
      assert.equal((await client.create(deeper, 'empty', { mode: 1 })).status, 0);
      const x = (await client.create(sub, 'x', { mode: 1 })).handle!;
      await client.write(x, 0, Buffer.from('deep'));
      assert.equal(await client.rename(a, 'sub', root, 'moved'), 0);
      assert.equal(await share.fs().waitUploaded(AbortSignal.timeout(20_000)), true, 'every change reached the bucket');
      assert.deepEqual([...share.objects().bucket.keys()].sort(), ['a/', 'moved/', 'moved/deeper/', 'moved/deeper/empty', 'moved/x']);
      assert.equal(share.objects().bucket.get('moved/x')!.data.toString(), 'deep');
    });

    it('refuses to move a directory into itself or over a non-empty directory, and replaces a file', async () => {
      const a = (await client.mkdir(root, 'a')).handle!;
      await client.mkdir(a, 'inner');
      const b = (await client.mkdir(root, 'b')).handle!;
      await client.create(b, 'x', { mode: 1 });
      assert.equal(await client.rename(root, 'a', a, 'self'), S.INVAL);
      assert.equal(await client.rename(root, 'a', root, 'b'), S.NOTEMPTY);
      const one = (await client.create(root, 'one', { mode: 1 })).handle!;
      await client.write(one, 0, Buffer.from('1'));
      await client.create(root, 'two', { mode: 1 });
      assert.equal(await client.rename(root, 'one', root, 'two'), 0);
      assert.equal((await client.read((await client.lookup(root, 'two')).handle!, 0, 5)).data!.toString(), '1');
      assert.equal(await client.rename(root, 'two', root, 'b'), S.ISDIR);
      assert.equal(await client.rename(root, 'a', root, 'two'), S.NOTDIR);
    });
  });

  describe('objects and their metadata', () => {
    it("stores mode, owner, group and times under AWS's metadata names", async () => {
      const file = (await client.create(root, 'meta.txt', { mode: 1, sattr: { mode: 0o600 } })).handle!;
      await client.write(file, 0, Buffer.from('m'));
      await client.setattr(file, { uid: 1234, gid: 5678 });
      await share.fs().waitUploaded();
      const metadata = share.objects().bucket.get('meta.txt')!.metadata;
      assert.equal(metadata['file-permissions'], '0100600');
      assert.equal(metadata['file-owner'], '1234');
      assert.equal(metadata['file-group'], '5678');
      assert.match(metadata['file-mtime']!, /^\d+ns$/);
      assert.equal(metadata['user-agent'], 'aws-storage-gateway');
      const dir = (await client.mkdir(root, 'd', { mode: 0o700 })).handle!;
      await share.fs().waitUploaded();
      assert.equal(share.objects().bucket.get('d/')!.metadata['file-permissions'], '0040700');
      assert.ok(dir);
    });

    it("keeps a client's chmod made while another call's slow HEAD of the same object is under way, and uploads it", async () => {
      share.objects().putFromElsewhere('theirs.txt', Buffer.from('theirs'), { 'file-permissions': '0100644' });
      await share.fs().refresh('', false);
      // The handle from READDIR's file id, as a client that kept it from before a restart has it: no LOOKUP, so no HEAD yet.
      const listed = (await client.readdirAll(root)).find((e) => e.name === 'theirs.txt')!;
      const file = encodeHandle({ shareId: 1, fileId: Number(listed.fileid) });
      const other = await NfsTestClient.connect(share.addresses.nfsPort, authSys(0, 0));
      try {
        const release = share.objects().holdNextHead();
        const slowGetattr = other.getattr(file); // its HEAD is held
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal((await client.setattr(file, { mode: 0o600 })).status, 0); // heads the node itself, then changes it
        release();
        assert.equal((await slowGetattr).status, 0);
      } finally {
        other.close();
      }
      assert.equal((await client.getattr(file)).attrs!.mode, 0o600, 'the slow HEAD put the old attributes back');
      await share.fs().waitUploaded();
      assert.equal(share.objects().bucket.get('theirs.txt')!.metadata['file-permissions'], '0100600', 'the chmod never reached the bucket');
    });

    it('keeps symbolic links as objects holding their target', async () => {
      const link = await client.symlink(root, 'ln', '../target/file');
      assert.equal(link.status, 0);
      assert.equal(link.attrs!.type, 5);
      assert.equal((await client.readlink(link.handle!)).target, '../target/file');
      await share.fs().waitUploaded();
      const object = share.objects().bucket.get('ln')!;
      assert.equal(object.data.toString(), '../target/file');
      assert.equal(object.metadata['file-permissions'], '0120777');
      // Read back as another gateway would: the object's metadata makes it a link.
      client.close();
      await share.restart();
      client = await NfsTestClient.connect(share.addresses.nfsPort);
      assert.equal((await client.readlink(link.handle!)).target, '../target/file');
    });

    it('shows objects other clients put in after a refresh, with their metadata or the defaults', async () => {
      await client.readdirAll(root);
      share.objects().putFromElsewhere('plain.txt', Buffer.from('plain'));
      share
        .objects()
        .putFromElsewhere('owned.txt', Buffer.from('owned'), { 'file-permissions': '0100600', 'file-owner': '42', 'file-group': '43' });
      share.objects().putFromElsewhere('deep/er/file', Buffer.from('deep'));
      assert.equal((await client.lookup(root, 'plain.txt')).status, S.NOENT, 'not before a refresh (no cache-stale timeout)');
      await share.fs().refresh('', false);
      const plain = await client.lookup(root, 'plain.txt');
      assert.equal(plain.attrs!.mode, 0o644);
      assert.equal(plain.attrs!.uid, 0);
      const owned = await client.lookup(root, 'owned.txt');
      assert.deepEqual([owned.attrs!.mode, owned.attrs!.uid, owned.attrs!.gid], [0o600, 42, 43]);
      const deep = (await client.lookup(root, 'deep')).handle!;
      const er = (await client.lookup(deep, 'er')).handle!;
      const file = (await client.lookup(er, 'file')).handle!;
      assert.equal((await client.read(file, 0, 10)).data!.toString(), 'deep');
      share.objects().bucket.delete('plain.txt');
      await share.fs().refresh('', false);
      assert.equal((await client.lookup(root, 'plain.txt')).status, S.NOENT, 'deleted by the other client');
    });
  });

  describe('share settings', () => {
    it('lists again after the cache-stale timeout', async () => {
      client.close();
      await share.stop();
      ({ share, client, root } = await setUp({ cacheStaleTimeoutMs: 200 }));
      await client.readdirAll(root);
      share.objects().putFromElsewhere('late.txt', Buffer.from('late'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await client.lookup(root, 'late.txt')).status, 0);
    });

    it('answers ROFS on a read-only share', async () => {
      client.close();
      await share.stop();
      ({ share, client, root } = await setUp({ readOnly: true }));
      assert.equal((await client.create(root, 'f', { mode: 1 })).status, S.ROFS);
      assert.equal((await client.mkdir(root, 'd')).status, S.ROFS);
      assert.equal((await client.setattr(root, { mode: 0o777 })).status, S.ROFS);
    });

    it('squashes root to the anonymous user', async () => {
      client.close();
      await share.stop();
      ({ share, client, root } = await setUp({ squash: 'root', defaults: { fileMode: 0o644, dirMode: 0o777, uid: 0, gid: 0 } }));
      const made = await client.create(root, 'f', { mode: 1 });
      assert.deepEqual([made.attrs!.uid, made.attrs!.gid], [65534, 65534]);
    });

    it('refuses clients outside the allowed addresses, at MOUNT and on every call', async () => {
      const handle = root;
      client.close();
      await share.stop();
      ({ share } = await setUp().then(async (s) => {
        s.client.close();
        await s.share.stop();
        return { share: await startNfsShare({ shares: [{ clients: ['10.0.0.0/8'] }] }) };
      }));
      client = await NfsTestClient.connect(share.addresses.nfsPort);
      assert.equal((await client.mount('/files')).status, 13);
      assert.equal((await client.getattr(handle)).status, S.ACCES);
    });
  });

  it('answers FSSTAT, FSINFO and PATHCONF', async () => {
    const fsinfo = await client.raw(19, root);
    assert.equal(fsinfo.status, 0);
    if (fsinfo.results.bool()) fsinfo.results.fixedOpaque(84);
    const [rtmax, rtpref, rtmult, wtmax] = [
      fsinfo.results.uint32(),
      fsinfo.results.uint32(),
      fsinfo.results.uint32(),
      fsinfo.results.uint32(),
    ];
    assert.deepEqual([rtmax, rtpref, rtmult, wtmax], [1 << 20, 1 << 20, 4096, 1 << 20]);
    fsinfo.results.uint32();
    fsinfo.results.uint32();
    fsinfo.results.uint32();
    assert.equal(fsinfo.results.uint64(), 5n * 1024n ** 4n, 'maxfilesize: 5 TiB');
    const pathconf = await client.raw(20, root);
    if (pathconf.results.bool()) pathconf.results.fixedOpaque(84);
    assert.deepEqual([pathconf.results.uint32(), pathconf.results.uint32()], [1, 255]);
    const fsstat = await client.raw(18, root);
    assert.equal(fsstat.status, 0);
  });
});
