// The local Glacier endpoint on its own, spoken to by the real @aws-sdk/client-glacier over HTTP.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  AbortVaultLockCommand,
  CompleteMultipartUploadCommand,
  CompleteVaultLockCommand,
  CreateVaultCommand,
  DeleteArchiveCommand,
  DeleteVaultCommand,
  DescribeJobCommand,
  DescribeVaultCommand,
  GetJobOutputCommand,
  GetVaultLockCommand,
  GlacierClient,
  InitiateJobCommand,
  InitiateMultipartUploadCommand,
  InitiateVaultLockCommand,
  ListJobsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  ListVaultsCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
} from '@aws-sdk/client-glacier';
import { startLocalGlacier, type LocalGlacier } from '../../src/cloud/local-glacier/index.ts';
import { treeHash } from '../../src/cloud/tree-hash.ts';

const MiB = 1024 * 1024;
const credentials = { accessKeyId: 'AKIDLOCALGLACIER', secretAccessKey: 'local-glacier-secret' };
const hex = (data: Buffer) => treeHash(data).toString('hex');

/** The SDK error's status and code, as the endpoint answered them. */
async function refusal(promise: Promise<unknown>): Promise<{ status?: number; code: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, code: e.name };
  }
  assert.fail('the request was not refused');
}

describe('@slow local Glacier endpoint through @aws-sdk/client-glacier', function () {
  this.timeout(30_000);
  let directory: string;
  let glacier: LocalGlacier;
  let client: GlacierClient;
  const vaultName = 'shelf-test';
  const v = { accountId: '-', vaultName };

  const start = async () => {
    glacier = await startLocalGlacier({
      directory,
      credentials,
      jobDelaySeconds: { Expedited: 0.3, Standard: 0.6, Bulk: 5, inventory: 0.3 },
    });
    client = new GlacierClient({ endpoint: glacier.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  };
  const stop = async () => {
    client.destroy();
    await glacier.close();
  };
  const until = async (jobId: string) => {
    for (;;) {
      const job = await client.send(new DescribeJobCommand({ ...v, jobId }));
      if (job.Completed) return job;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'local-glacier-'));
    await start();
    await client.send(new CreateVaultCommand(v));
  });
  after(async () => {
    await stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('creates, describes, lists and deletes vaults; a vault with archives is not deleted', async () => {
    const created = await client.send(new CreateVaultCommand({ accountId: '-', vaultName: 'a-vault' }));
    assert.equal(created.location, '/012345678901/vaults/a-vault');
    await client.send(new CreateVaultCommand({ accountId: '-', vaultName: 'a-vault' }));
    const described = await client.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'a-vault' }));
    assert.equal(described.VaultARN, 'arn:aws:glacier:us-east-1:012345678901:vaults/a-vault');
    assert.equal(described.NumberOfArchives, 0);
    assert.equal(described.SizeInBytes, 0);
    const first = await client.send(new ListVaultsCommand({ accountId: '-', limit: 1 }));
    assert.deepEqual(
      first.VaultList?.map((x) => x.VaultName),
      ['a-vault'],
    );
    const second = await client.send(new ListVaultsCommand({ accountId: '-', limit: 1, marker: first.Marker }));
    assert.deepEqual(
      second.VaultList?.map((x) => x.VaultName),
      [vaultName],
    );
    assert.equal(second.Marker, undefined);

    const { archiveId } = await client.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'a-vault', body: Buffer.from('held') }));
    assert.deepEqual(await refusal(client.send(new DeleteVaultCommand({ accountId: '-', vaultName: 'a-vault' }))), {
      status: 400,
      code: 'InvalidParameterValueException',
    });
    await client.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'a-vault', archiveId }));
    await client.send(new DeleteVaultCommand({ accountId: '-', vaultName: 'a-vault' }));
    assert.deepEqual(await refusal(client.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'a-vault' }))), {
      status: 404,
      code: 'ResourceNotFoundException',
    });
    assert.deepEqual(await refusal(client.send(new CreateVaultCommand({ accountId: '-', vaultName: 'bad/name' }))), {
      status: 400,
      code: 'InvalidParameterValueException',
    });
  });

  it('takes an archive in one request, checking the tree hash the SDK computed itself, and refuses a wrong one', async () => {
    const body = randomBytes(3 * MiB + 123);
    const out = await client.send(new UploadArchiveCommand({ ...v, body, archiveDescription: 'one request' }));
    assert.equal(out.checksum, hex(body));
    assert.equal(out.location, `/012345678901/vaults/${vaultName}/archives/${out.archiveId}`);
    const wrong = hex(Buffer.from('something else'));
    assert.deepEqual(await refusal(client.send(new UploadArchiveCommand({ ...v, body, checksum: wrong }))), {
      status: 400,
      code: 'InvalidParameterValueException',
    });
    await client.send(new DeleteArchiveCommand({ ...v, archiveId: out.archiveId }));
    assert.deepEqual(await refusal(client.send(new DeleteArchiveCommand({ ...v, archiveId: out.archiveId }))), {
      status: 404,
      code: 'ResourceNotFoundException',
    });
  });

  it('multipart: checks part size, part ranges and tree hashes, the final size and tree hash; Complete repeats; Abort drops', async () => {
    assert.deepEqual(await refusal(client.send(new InitiateMultipartUploadCommand({ ...v, partSize: String(3 * MiB) }))), {
      status: 400,
      code: 'InvalidParameterValueException',
    });
    const archive = randomBytes(5 * MiB + 77);
    const partSize = 2 * MiB;
    const { uploadId } = await client.send(
      new InitiateMultipartUploadCommand({ ...v, partSize: String(partSize), archiveDescription: 'in parts' }),
    );
    const parts: Buffer[] = [];
    for (let at = 0; at < archive.length; at += partSize) parts.push(archive.subarray(at, at + partSize));
    const range = (i: number) => `bytes ${i * partSize}-${i * partSize + parts[i]!.length - 1}/*`;

    const badPart = await refusal(
      client.send(new UploadMultipartPartCommand({ ...v, uploadId, body: parts[0], range: range(0), checksum: hex(parts[1]!) })),
    );
    assert.deepEqual(badPart, { status: 400, code: 'InvalidParameterValueException' });
    const misaligned = await refusal(
      client.send(new UploadMultipartPartCommand({ ...v, uploadId, body: parts[0], range: `bytes ${MiB}-${3 * MiB - 1}/*` })),
    );
    assert.deepEqual(misaligned, { status: 400, code: 'InvalidParameterValueException' });
    for (let i = 0; i < parts.length; i++) {
      const out = await client.send(new UploadMultipartPartCommand({ ...v, uploadId, body: parts[i], range: range(i) }));
      assert.equal(out.checksum, hex(parts[i]!));
    }
    const listed = await client.send(new ListPartsCommand({ ...v, uploadId }));
    assert.equal(listed.PartSizeInBytes, partSize);
    assert.deepEqual(
      listed.Parts?.map((p) => [p.RangeInBytes, p.SHA256TreeHash]),
      parts.map((p, i) => [`${i * partSize}-${i * partSize + p.length - 1}`, hex(p)]),
    );
    const uploads = await client.send(new ListMultipartUploadsCommand(v));
    assert.ok(uploads.UploadsList?.some((u) => u.MultipartUploadId === uploadId && u.ArchiveDescription === 'in parts'));

    const size = String(archive.length);
    const badFinal = await refusal(
      client.send(new CompleteMultipartUploadCommand({ ...v, uploadId, archiveSize: size, checksum: hex(parts[0]!) })),
    );
    assert.deepEqual(badFinal, { status: 400, code: 'InvalidParameterValueException' });
    const badSize = await refusal(
      client.send(new CompleteMultipartUploadCommand({ ...v, uploadId, archiveSize: String(archive.length + 1), checksum: hex(archive) })),
    );
    assert.deepEqual(badSize, { status: 400, code: 'InvalidParameterValueException' });
    const done = await client.send(new CompleteMultipartUploadCommand({ ...v, uploadId, archiveSize: size, checksum: hex(archive) }));
    assert.equal(done.checksum, hex(archive));
    const again = await client.send(new CompleteMultipartUploadCommand({ ...v, uploadId, archiveSize: size, checksum: hex(archive) }));
    assert.equal(again.archiveId, done.archiveId, 'a repeated Complete answers the same archive');
    assert.deepEqual(await refusal(client.send(new ListPartsCommand({ ...v, uploadId }))), {
      status: 404,
      code: 'ResourceNotFoundException',
    });

    const other = await client.send(new InitiateMultipartUploadCommand({ ...v, partSize: String(MiB) }));
    await client.send(new AbortMultipartUploadCommand({ ...v, uploadId: other.uploadId }));
    const after = await client.send(new ListMultipartUploadsCommand(v));
    assert.ok(!after.UploadsList?.some((u) => u.MultipartUploadId === other.uploadId || u.MultipartUploadId === uploadId));
    await client.send(new DeleteArchiveCommand({ ...v, archiveId: done.archiveId }));
  });

  describe('jobs, and a restart', () => {
    const archive = randomBytes(6.5 * MiB);
    let archiveId: string;
    let wholeJob: string;
    let inventoryJob: string;

    before(async () => {
      archiveId = (await client.send(new UploadArchiveCommand({ ...v, body: archive, archiveDescription: 'job source' }))).archiveId!;
    });

    it('completes a retrieval after its tier delay; its output ranges come with tree hashes where aligned', async () => {
      const started = Date.now();
      wholeJob = (
        await client.send(
          new InitiateJobCommand({ ...v, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Standard' } }),
        )
      ).jobId!;
      const pending = await client.send(new DescribeJobCommand({ ...v, jobId: wholeJob }));
      assert.equal(pending.StatusCode, 'InProgress');
      assert.equal(pending.Completed, false);
      assert.equal(pending.SHA256TreeHash, undefined);
      assert.deepEqual(await refusal(client.send(new GetJobOutputCommand({ ...v, jobId: wholeJob }))), {
        status: 400,
        code: 'InvalidParameterValueException',
      });
      const inProgress = await client.send(new ListJobsCommand({ ...v, completed: 'false' }));
      assert.ok(inProgress.JobList?.some((j) => j.JobId === wholeJob));

      const job = await until(wholeJob);
      assert.ok(Date.now() - started >= 600, 'a Standard retrieval takes its configured delay');
      assert.equal(Date.parse(job.CompletionDate!) - Date.parse(job.CreationDate!), 600);
      assert.equal(job.StatusCode, 'Succeeded');
      assert.equal(job.ArchiveSizeInBytes, archive.length);
      assert.equal(job.SHA256TreeHash, hex(archive));
      assert.equal(job.RetrievalByteRange, `0-${archive.length - 1}`);

      const whole = await client.send(new GetJobOutputCommand({ ...v, jobId: wholeJob }));
      assert.equal(whole.status, 200);
      assert.equal(whole.checksum, hex(archive));
      assert.equal(whole.archiveDescription, 'job source');
      assert.ok(Buffer.from(await whole.body!.transformToByteArray()).equals(archive));

      const ranges: [number, number, boolean][] = [
        [2 * MiB, 4 * MiB, true],
        [4 * MiB, archive.length, true],
        [6 * MiB, archive.length, true],
        [MiB, 3 * MiB, false],
        [5, 1000, false],
      ];
      for (const [from, to, aligned] of ranges) {
        const out = await client.send(new GetJobOutputCommand({ ...v, jobId: wholeJob, range: `bytes=${from}-${to - 1}` }));
        const data = Buffer.from(await out.body!.transformToByteArray());
        assert.equal(out.status, 206);
        assert.equal(out.contentRange, `bytes ${from}-${to - 1}/${archive.length}`);
        assert.ok(data.equals(archive.subarray(from, to)), `bytes ${from}-${to}`);
        assert.equal(out.checksum, aligned ? hex(data) : undefined, `tree hash of ${from}-${to}`);
      }
    });

    it('retrieves a megabyte-aligned range of an archive, refusing unaligned ones', async () => {
      assert.deepEqual(
        await refusal(
          client.send(
            new InitiateJobCommand({
              ...v,
              jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: '1-1048576' },
            }),
          ),
        ),
        { status: 400, code: 'InvalidParameterValueException' },
      );
      const { jobId } = await client.send(
        new InitiateJobCommand({
          ...v,
          jobParameters: {
            Type: 'archive-retrieval',
            ArchiveId: archiveId,
            Tier: 'Expedited',
            RetrievalByteRange: `${2 * MiB}-${4 * MiB - 1}`,
          },
        }),
      );
      const job = await until(jobId!);
      assert.equal(job.SHA256TreeHash, hex(archive.subarray(2 * MiB, 4 * MiB)));
      const out = await client.send(new GetJobOutputCommand({ ...v, jobId, range: `bytes=${MiB}-${2 * MiB - 1}` }));
      const data = Buffer.from(await out.body!.transformToByteArray());
      assert.ok(data.equals(archive.subarray(3 * MiB, 4 * MiB)));
      assert.equal(out.checksum, hex(data));
    });

    it("lists the vault in an inventory in Glacier's JSON format", async () => {
      inventoryJob = (await client.send(new InitiateJobCommand({ ...v, jobParameters: { Type: 'inventory-retrieval' } }))).jobId!;
      const job = await until(inventoryJob);
      assert.equal(job.Action, 'InventoryRetrieval');
      const out = await client.send(new GetJobOutputCommand({ ...v, jobId: inventoryJob }));
      assert.equal(out.contentType, 'application/json');
      const inventory = JSON.parse(await out.body!.transformToString()) as { VaultARN: string; ArchiveList: Record<string, unknown>[] };
      assert.equal(inventory.VaultARN, `arn:aws:glacier:us-east-1:012345678901:vaults/${vaultName}`);
      const entry = inventory.ArchiveList.find((a) => a.ArchiveId === archiveId);
      assert.deepEqual(
        { size: entry?.Size, hash: entry?.SHA256TreeHash, description: entry?.ArchiveDescription },
        { size: archive.length, hash: hex(archive), description: 'job source' },
      );
      assert.equal(job.InventorySizeInBytes, Buffer.byteLength(JSON.stringify(inventory)));
    });

    it('keeps vaults, archives and jobs across a restart', async () => {
      await stop();
      await start();
      const vault = await client.send(new DescribeVaultCommand(v));
      assert.equal(vault.NumberOfArchives, 1);
      assert.equal(vault.SizeInBytes, archive.length);
      const jobs = await client.send(new ListJobsCommand({ ...v, statuscode: 'Succeeded' }));
      assert.ok(jobs.JobList?.some((j) => j.JobId === wholeJob) && jobs.JobList.some((j) => j.JobId === inventoryJob));
      const out = await client.send(new GetJobOutputCommand({ ...v, jobId: wholeJob, range: `bytes=0-${MiB - 1}` }));
      assert.ok(Buffer.from(await out.body!.transformToByteArray()).equals(archive.subarray(0, MiB)));
    });

    it('keeps a retrieval served after its archive is deleted, and never serves damaged bytes', async () => {
      await client.send(new DeleteArchiveCommand({ ...v, archiveId }));
      const ok = await client.send(new GetJobOutputCommand({ ...v, jobId: wholeJob, range: `bytes=0-${MiB - 1}` }));
      assert.ok(Buffer.from(await ok.body!.transformToByteArray()).equals(archive.subarray(0, MiB)));
      const jobs = join(directory, 'vaults', `v-${vaultName}`, 'jobs');
      const data = (await readdir(jobs)).find((f) => f.startsWith(wholeJob) && f.endsWith('.data'))!;
      const handle = await open(join(jobs, data), 'r+');
      await handle.write(Buffer.from([archive[3 * MiB + 10]! ^ 0xff]), 0, 1, 3 * MiB + 10);
      await handle.close();
      const damaged = client
        .send(new GetJobOutputCommand({ ...v, jobId: wholeJob, range: `bytes=${2 * MiB}-${4 * MiB - 1}` }))
        .then((out) => out.body!.transformToByteArray());
      await assert.rejects(damaged);
      const intact = await client.send(new GetJobOutputCommand({ ...v, jobId: wholeJob, range: `bytes=0-${MiB - 1}` }));
      assert.ok(
        Buffer.from(await intact.body!.transformToByteArray()).equals(archive.subarray(0, MiB)),
        'undamaged leaves are still served',
      );
    });
  });

  it('vault lock: a compliance policy with a retention condition denies DeleteArchive once locked', async () => {
    const v = { accountId: '-', vaultName: 'locked-vault' };
    await client.send(new CreateVaultCommand(v));
    const { archiveId } = await client.send(new UploadArchiveCommand({ ...v, body: Buffer.from('retained') }));
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'deny-deletes-for-365-days',
          Principal: '*',
          Effect: 'Deny',
          Action: 'glacier:DeleteArchive',
          Resource: `arn:aws:glacier:us-east-1:012345678901:vaults/locked-vault`,
          Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '365' } },
        },
      ],
    });
    const unsupported = policy.replace('NumericLessThan', 'StringLike');
    assert.deepEqual(await refusal(client.send(new InitiateVaultLockCommand({ ...v, policy: { Policy: unsupported } }))), {
      status: 400,
      code: 'InvalidParameterValueException',
    });
    const { lockId } = await client.send(new InitiateVaultLockCommand({ ...v, policy: { Policy: policy } }));
    assert.equal((await client.send(new GetVaultLockCommand(v))).State, 'InProgress');
    assert.deepEqual(await refusal(client.send(new CompleteVaultLockCommand({ ...v, lockId: 'not-the-lock' }))), {
      status: 400,
      code: 'InvalidParameterValueException',
    });
    await client.send(new CompleteVaultLockCommand({ ...v, lockId }));
    const lock = await client.send(new GetVaultLockCommand(v));
    assert.deepEqual([lock.State, lock.Policy], ['Locked', policy]);
    assert.deepEqual(await refusal(client.send(new DeleteArchiveCommand({ ...v, archiveId }))), {
      status: 403,
      code: 'AccessDeniedException',
    });
    assert.deepEqual(await refusal(client.send(new AbortVaultLockCommand(v))), { status: 400, code: 'InvalidParameterValueException' });
  });

  it("refuses bad signatures, unknown keys, unsigned requests and foreign accounts with Glacier's JSON errors", async () => {
    const wrongSecret = new GlacierClient({
      endpoint: glacier.endpoint,
      region: 'us-east-1',
      credentials: { ...credentials, secretAccessKey: 'guess' },
      maxAttempts: 1,
    });
    const wrongKey = new GlacierClient({
      endpoint: glacier.endpoint,
      region: 'us-east-1',
      credentials: { ...credentials, accessKeyId: 'AKIDOTHER' },
      maxAttempts: 1,
    });
    try {
      assert.deepEqual(await refusal(wrongSecret.send(new ListVaultsCommand({ accountId: '-' }))), {
        status: 403,
        code: 'InvalidSignatureException',
      });
      assert.deepEqual(await refusal(wrongKey.send(new ListVaultsCommand({ accountId: '-' }))), {
        status: 403,
        code: 'UnrecognizedClientException',
      });
    } finally {
      wrongSecret.destroy();
      wrongKey.destroy();
    }
    assert.deepEqual(await refusal(client.send(new ListVaultsCommand({ accountId: '999999999999' }))), {
      status: 403,
      code: 'AccessDeniedException',
    });
    // A body changed after signing: the signature holds (it covers the declared hash), the payload does not.
    const tampering = new GlacierClient({ endpoint: glacier.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body: Buffer };
        req.body = Buffer.from(req.body).fill(0, 0, 1);
        return next(args);
      },
      { step: 'deserialize' },
    );
    try {
      const tampered = await refusal(tampering.send(new UploadArchiveCommand({ ...v, body: Buffer.from('original payload') })));
      assert.deepEqual(tampered, { status: 400, code: 'InvalidParameterValueException' });
    } finally {
      tampering.destroy();
    }
    const { status, body } = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = request(`${glacier.endpoint}/-/vaults`, { headers: { 'x-amz-glacier-version': '2012-06-01' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 400);
    assert.deepEqual(JSON.parse(body), {
      code: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
      type: 'Client',
    });
  });
});
