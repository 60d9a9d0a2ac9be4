// The Vault client against the local Glacier endpoint over HTTP, and through a
// proxy that damages job output or cuts the first connection short.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-glacier';
import { startLocalGlacier, type LocalGlacier } from '../../src/cloud/local-glacier/index.ts';
import { treeHash } from '../../src/cloud/tree-hash.ts';
import { TreeHashMismatchError, Vault, type VaultSettings } from '../../src/cloud/vault.ts';
import { flipBits } from '../helpers/bytes.ts';

const MiB = 1024 * 1024;
const credentials = { accessKeyId: 'AKIDVAULTTEST', secretAccessKey: 'vault-test-secret' };

/** A stream of `data` in uneven chunks, as a file or socket would give it. */
function trickle(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const n = 1 + Math.floor(Math.random() * 300_000);
    chunks.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(chunks);
}

async function readAll(vault: Vault, jobId: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let expected = 0;
  for await (const { offset, data } of vault.readArchiveOutput(jobId)) {
    assert.equal(offset, expected);
    expected += data.length;
    chunks.push(data);
  }
  return Buffer.concat(chunks);
}

/** Forwards to `target`; flips a byte in job output bodies while `damage` is set, and resets the first `resets` requests. */
async function startProxy(target: string) {
  const to = new URL(target);
  const state = { damage: false, resets: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (state.resets > 0) {
      state.resets--;
      req.socket.destroy();
      return;
    }
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        let first = state.damage && /\/output$/.test(req.url ?? '');
        answer.on('data', (chunk: Buffer) => {
          if (first) {
            chunk = Buffer.from(chunk);
            flipBits(chunk, 0, 0x01);
            first = false;
          }
          res.write(chunk);
        });
        answer.on('end', () => res.end());
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('@slow cloud Vault against the local Glacier endpoint through the AWS SDK', function () {
  this.timeout(60_000);
  let directory: string;
  let glacier: LocalGlacier;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let vault: Vault;
  const retried: string[] = [];
  let settings: VaultSettings;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'vault-'));
    glacier = await startLocalGlacier({ directory, credentials, region: 'eu-west-1', jobDelaySeconds: 0.2 });
    proxy = await startProxy(glacier.endpoint);
    settings = {
      endpoint: proxy.endpoint,
      region: 'eu-west-1',
      credentials,
      vault: 'tapes',
      partSize: 2 * MiB,
      partConcurrency: 3,
      downloadChunkSize: 4 * MiB,
      retry: { maxAttempts: 3, baseDelayMs: 5 },
    };
    vault = new Vault(settings, { retried: (cause, operation) => retried.push(`${operation}:${cause}`) });
    await vault.create();
  });
  after(async () => {
    vault.close();
    await proxy.close();
    await glacier.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('uploads an archive smaller than a part in one request and reads it back byte for byte', async () => {
    const data = randomBytes(MiB + 333);
    const up = await vault.upload(data, { description: 'small' });
    assert.deepEqual([up.size, up.treeHash], [data.length, treeHash(data).toString('hex')]);
    const jobId = await vault.retrieveArchive(up.archiveId, { tier: 'Expedited' });
    const job = await vault.waitForJob(jobId, { intervalMs: 50 });
    assert.equal(job.treeHash, up.treeHash);
    assert.ok((await readAll(vault, jobId)).equals(data));
  });

  it('uploads a streamed archive in parts with bounded concurrency, tree hashes computed as it streams, and reads it back', async () => {
    const data = randomBytes(13 * MiB + 7);
    const up = await vault.upload(trickle(data), { description: 'tape A00001L5' });
    assert.equal(up.size, data.length);
    assert.equal(up.treeHash, treeHash(data).toString('hex'));
    const uploads = await vault.glacier.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'tapes' }));
    assert.equal(uploads.UploadsList?.length ?? 0, 0, 'no upload left open');
    const jobId = await vault.retrieveArchive(up.archiveId);
    const job = await vault.waitForJob(jobId, { intervalMs: 50 });
    assert.deepEqual([job.archiveSize, job.range], [data.length, { start: 0, end: data.length }]);
    assert.ok((await readAll(vault, jobId)).equals(data));
    const ranged = await vault.getJobOutput(jobId, { start: 4 * MiB, end: 8 * MiB }, true);
    assert.ok(ranged.data.equals(data.subarray(4 * MiB, 8 * MiB)));
    assert.equal(ranged.treeHash, treeHash(ranged.data).toString('hex'));
    const unaligned = await vault.getJobOutput(jobId, { start: 100, end: 5000 });
    assert.ok(unaligned.data.equals(data.subarray(100, 5000)));
    assert.equal(unaligned.treeHash, undefined);
  });

  it('retrieves a megabyte-aligned range of an archive', async () => {
    const data = randomBytes(6 * MiB + 5);
    const { archiveId } = await vault.upload(data, { sizeHint: data.length });
    const jobId = await vault.retrieveArchive(archiveId, { tier: 'Bulk', range: { start: 4 * MiB, end: data.length } });
    await vault.waitForJob(jobId, { intervalMs: 50 });
    assert.ok((await readAll(vault, jobId)).equals(data.subarray(4 * MiB)));
  });

  it('turns damaged output into TreeHashMismatchError after its retries, and survives a dropped connection', async () => {
    const data = randomBytes(3 * MiB);
    const { archiveId } = await vault.upload(data);
    const jobId = await vault.retrieveArchive(archiveId, { tier: 'Expedited' });
    await vault.waitForJob(jobId, { intervalMs: 50 });
    proxy.state.damage = true;
    try {
      const error = await vault.getJobOutput(jobId, { start: 0, end: 2 * MiB }).catch((e: unknown) => e);
      assert.ok(error instanceof TreeHashMismatchError, String(error));
      assert.equal(error.actual, treeHash(Buffer.concat([Buffer.from([data[0]! ^ 1]), data.subarray(1, 2 * MiB)])).toString('hex'));
      assert.equal(retried.filter((r) => r === 'get-job-output:checksum').length, 2);
      await assert.rejects(readAll(vault, jobId), TreeHashMismatchError);
    } finally {
      proxy.state.damage = false;
    }
    proxy.state.resets = 1;
    assert.ok((await readAll(vault, jobId)).equals(data));
    assert.ok(
      retried.some((r) => r === 'describe-job:reset'),
      retried.join(),
    );
  });

  it("is refused when its signature is scoped to another region than the endpoint's", async () => {
    const elsewhere = new Vault({ ...settings, region: 'us-east-1', retry: { maxAttempts: 1 } });
    try {
      await assert.rejects(
        elsewhere.describe(),
        (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
          e.name === 'InvalidSignatureException' && e.$metadata?.httpStatusCode === 403,
      );
    } finally {
      elsewhere.close();
    }
  });

  it('lists the archives through an inventory, deletes one, and describes the vault', async () => {
    const { archiveId, size } = await vault.upload(Buffer.from('short-lived'), { description: 'to delete' });
    const jobId = await vault.retrieveInventory();
    await vault.waitForJob(jobId, { intervalMs: 50 });
    const inventory = await vault.getInventory(jobId);
    assert.equal(inventory.vaultArn, 'arn:aws:glacier:eu-west-1:012345678901:vaults/tapes');
    const entry = inventory.archives.find((a) => a.archiveId === archiveId);
    assert.deepEqual(
      [entry?.size, entry?.description, entry?.treeHash],
      [size, 'to delete', treeHash(Buffer.from('short-lived')).toString('hex')],
    );
    assert.equal(inventory.archives.length, 5);
    await vault.deleteArchive(archiveId);
    const described = await vault.describe();
    assert.equal(described.archives, 4);
    assert.ok(described.lastInventoryDate);
  });
});
