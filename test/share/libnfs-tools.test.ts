// libnfs's own tools (Debian libnfs-utils) against the share: MOUNT, then
// NFSv3 LOOKUP, READDIRPLUS, CREATE, WRITE, COMMIT and READ as a real client
// sends them. @peer
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { requirePeer } from '../helpers/peers.ts';
import { startNfsShare, type NfsShareFixture } from '../helpers/nfs-share.ts';

const run = promisify(execFile);

describe('@peer share with libnfs tools', function () {
  this.timeout(60_000);
  let share: NfsShareFixture;
  let dir: string;

  before(function () {
    requirePeer(this, 'nfs-ls', 'nfs-cp', 'nfs-cat');
  });
  beforeEach(async () => {
    share = await startNfsShare();
    dir = await mkdtemp(path.join(os.tmpdir(), 'libnfs-'));
  });
  afterEach(async () => {
    await share?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies a file in and out byte for byte, and lists it with its size', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    await writeFile(path.join(dir, 'in.bin'), data);
    await run('nfs-cp', [path.join(dir, 'in.bin'), share.url('in.bin')]);
    await run('nfs-cp', [share.url('in.bin'), path.join(dir, 'out.bin')]);
    assert.ok((await readFile(path.join(dir, 'out.bin'))).equals(data));
    const { stdout } = await run('nfs-ls', [share.url()]);
    assert.match(stdout, new RegExp(`\\s${data.length}\\s+in\\.bin`));
  });

  it('reads a file another S3 client put in the bucket', async () => {
    share.objects().putFromElsewhere('docs/readme.txt', Buffer.from('put by the SDK\n'));
    const { stdout } = await run('nfs-cat', [share.url('docs/readme.txt')]);
    assert.equal(stdout, 'put by the SDK\n');
    const listing = await run('nfs-ls', [share.url('docs')]);
    assert.match(listing.stdout, /readme\.txt/);
  });

  it('refuses to overwrite an existing file (GUARDED create answers EXIST)', async () => {
    await writeFile(path.join(dir, 'a'), 'one');
    await run('nfs-cp', [path.join(dir, 'a'), share.url('a')]);
    await assert.rejects(run('nfs-cp', [path.join(dir, 'a'), share.url('a')]), /EXIST|exists|Failed/i);
  });

  it('keeps files and their handles across a restart', async () => {
    await writeFile(path.join(dir, 'keep.txt'), 'kept\n');
    await run('nfs-cp', [path.join(dir, 'keep.txt'), share.url('keep.txt')]);
    await share.restart();
    const { stdout } = await run('nfs-cat', [share.url('keep.txt')]);
    assert.equal(stdout, 'kept\n');
  });

  it('serves on after a client that left mid-read, and reads a file back intact in 1 MiB READs', async () => {
    const data = randomBytes(8 * 1024 * 1024 + 5);
    await writeFile(path.join(dir, 'big.bin'), data);
    await run('nfs-cp', [path.join(dir, 'big.bin'), share.url('big.bin')]);
    // A reader that takes 64 KiB and closes its end: nfs-cat dies of SIGPIPE with 1 MiB READs in flight.
    await run('sh', ['-c', `nfs-cat "$0" | head -c 65536 >/dev/null`, share.url('big.bin')]);
    // Eight READs of 1 MiB, then the 5 bytes of the tail, each reply whole and where it belongs.
    await run('nfs-cp', [share.url('big.bin'), path.join(dir, 'out.bin')]);
    assert.ok((await readFile(path.join(dir, 'out.bin'))).equals(data));
    const { stdout } = await run('nfs-ls', [share.url()]);
    assert.match(stdout, new RegExp(`\\s${data.length}\\s+big\\.bin`));
  });

  it('refuses to mount a share that does not exist', async () => {
    await assert.rejects(run('nfs-ls', [share.url('', 'nothere')]), /mount|NOENT|No such/i);
  });
});
