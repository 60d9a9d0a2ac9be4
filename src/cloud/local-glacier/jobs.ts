// Job operations: archive and inventory retrievals that complete a set delay
// after they start, their descriptions, and their output by range.
import { createHash } from 'node:crypto';
import { isMegabyteAligned, isTreeHashAligned } from '../tree-hash.ts';
import { rangeTreeHash as treeHashOf, readLeaves, sendVerified } from './archive-io.ts';
import { invalid, missing } from './errors.ts';
import { json, optionalString, page, readJsonBody, send, single, type Call, type Names } from './http.ts';
import { readBounded, tempPath, writeFileDurably } from './files.ts';
import { newId, type GlacierStore, type JobRecord } from './store.ts';

const TIERS = ['Expedited', 'Standard', 'Bulk'] as const;

/** Seconds from initiation to completion, per retrieval tier and for inventories. */
export type JobDelays = Record<(typeof TIERS)[number] | 'inventory', number>;

export class JobOperations {
  constructor(
    private readonly store: GlacierStore,
    private readonly names: Names,
    private readonly delays: JobDelays,
  ) {}

  async initiateJob({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const params = (await readJsonBody(req)) as Record<string, unknown>;
    const description = optionalString(params, 'Description', 1024);
    const now = Date.now();
    const base = { id: newId(69), description, creationDate: new Date(now).toISOString() };
    let job: JobRecord;
    if (params.Type === 'archive-retrieval') {
      const archiveId = optionalString(params, 'ArchiveId', 200);
      if (!archiveId) throw missing('ArchiveId is required for an archive-retrieval job');
      const archive = await this.store.archive(vault, archiveId);
      const tier = optionalString(params, 'Tier', 20) ?? 'Standard';
      if (!(TIERS as readonly string[]).includes(tier)) throw invalid(`Invalid tier: ${tier}`);
      const range = retrievalRange(optionalString(params, 'RetrievalByteRange', 64), archive.size);
      const rangeTreeHash = isTreeHashAligned(range.start, range.end, archive.size)
        ? treeHashOf(
            await readLeaves(this.store.archivePath(vault, archive.id, 'leaves'), archive.size, archive.treeHash),
            range.start,
            range.end,
          )
        : undefined;
      job = {
        ...base,
        action: 'ArchiveRetrieval',
        tier,
        archive,
        range,
        rangeTreeHash,
        completesAt: now + this.delays[tier as (typeof TIERS)[number]] * 1000,
      };
      await this.store.addJob(vault, job);
    } else if (params.Type === 'inventory-retrieval') {
      if ((params.Format ?? 'JSON') !== 'JSON') throw invalid('Only the JSON inventory format is supported by this endpoint');
      if (params.InventoryRetrievalParameters !== undefined)
        throw invalid('InventoryRetrievalParameters are not supported by this endpoint');
      const inventory = Buffer.from(
        JSON.stringify({
          VaultARN: this.names.arn(vault),
          InventoryDate: base.creationDate,
          ArchiveList: (await this.store.listArchives(vault)).map((a) => ({
            ArchiveId: a.id,
            ArchiveDescription: a.description,
            CreationDate: a.creationDate,
            Size: a.size,
            SHA256TreeHash: a.treeHash,
          })),
        }),
      );
      const temp = tempPath(this.store.root);
      await writeFileDurably(this.store.root, temp, inventory);
      job = {
        ...base,
        action: 'InventoryRetrieval',
        inventory: { size: inventory.length, sha256: createHash('sha256').update(inventory).digest('hex'), format: 'JSON' },
        completesAt: now + this.delays.inventory * 1000,
      };
      await this.store.addJob(vault, job, temp);
      await this.store.updateVault(vault, (record) => ({ ...record, lastInventoryDate: base.creationDate }));
    } else {
      throw invalid(
        `Invalid job type: ${String(params.Type).slice(0, 50)}; this endpoint supports archive-retrieval and inventory-retrieval`,
      );
    }
    send(res, 202, { Location: this.names.path(vault, 'jobs', job.id), 'x-amz-job-id': job.id });
  }

  async describeJob({ res, vault, id }: Call): Promise<void> {
    json(res, 200, this.describeJobRecord(vault, await this.store.job(vault, id)));
  }

  private describeJobRecord(vault: string, job: JobRecord): object {
    const completed = Date.now() >= job.completesAt;
    const archive = job.archive;
    const range = job.range;
    return {
      Action: job.action,
      ArchiveId: archive?.id ?? null,
      ArchiveSHA256TreeHash: archive?.treeHash ?? null,
      ArchiveSizeInBytes: archive?.size ?? null,
      Completed: completed,
      CompletionDate: completed ? new Date(job.completesAt).toISOString() : null,
      CreationDate: job.creationDate,
      InventoryRetrievalParameters: job.inventory ? { Format: job.inventory.format } : null,
      InventorySizeInBytes: job.inventory && completed ? job.inventory.size : null,
      JobDescription: job.description ?? null,
      JobId: job.id,
      RetrievalByteRange: range ? `${range.start}-${range.end - 1}` : null,
      SHA256TreeHash: completed ? (job.rangeTreeHash ?? null) : null,
      SNSTopic: null,
      StatusCode: completed ? 'Succeeded' : 'InProgress',
      StatusMessage: completed ? 'Succeeded' : null,
      Tier: job.tier ?? null,
      VaultARN: this.names.arn(vault),
    };
  }

  async listJobs({ res, vault, query }: Call): Promise<void> {
    const now = Date.now();
    const completed = query.get('completed');
    const status = query.get('statuscode');
    if (completed !== null && completed !== 'true' && completed !== 'false') throw invalid(`Invalid completed value: ${completed}`);
    if (status !== null && !['InProgress', 'Succeeded', 'Failed'].includes(status)) throw invalid(`Invalid statuscode: ${status}`);
    const jobs = (await this.store.listJobs(vault)).filter((j) => {
      const done = now >= j.completesAt;
      return (completed === null || String(done) === completed) && (status === null || status === (done ? 'Succeeded' : 'InProgress'));
    });
    const { items, marker } = page(jobs, (j) => j.id, query, 50);
    json(res, 200, { JobList: items.map((j) => this.describeJobRecord(vault, j)), Marker: marker });
  }

  async getJobOutput({ req, res, vault, id }: Call): Promise<void> {
    const job = await this.store.job(vault, id);
    if (Date.now() < job.completesAt) throw invalid(`The job is not currently available for download: ${id}`);
    const total = job.range ? job.range.end - job.range.start : job.inventory!.size;
    const wanted = outputRange(single(req.headers.range), total);
    const headers: Record<string, string | number> = { 'Accept-Ranges': 'bytes', 'Content-Length': wanted.end - wanted.start };
    if (wanted.partial) headers['Content-Range'] = `bytes ${wanted.start}-${wanted.end - 1}/${total}`;
    const status = wanted.partial ? 206 : 200;
    if (job.inventory) {
      const data = await readBounded(this.store.jobPath(vault, id, 'data'), job.inventory.size);
      if (!data || data.length !== job.inventory.size || createHash('sha256').update(data).digest('hex') !== job.inventory.sha256) {
        throw new Error(`inventory output of job ${id} is damaged`);
      }
      res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
      res.end(data.subarray(wanted.start, wanted.end));
      return;
    }
    const archive = job.archive!;
    const range = job.range!;
    const leaves = await readLeaves(this.store.jobPath(vault, id, 'leaves'), archive.size, archive.treeHash);
    const start = range.start + wanted.start;
    const end = range.start + wanted.end;
    if (isTreeHashAligned(range.start, range.end, archive.size) && isTreeHashAligned(start, end, archive.size)) {
      headers['x-amz-sha256-tree-hash'] = treeHashOf(leaves, start, end);
    }
    if (archive.description) headers['x-amz-archive-description'] = archive.description;
    res.writeHead(status, { ...headers, 'Content-Type': 'application/octet-stream' });
    try {
      await sendVerified(this.store.jobPath(vault, id, 'data'), archive.size, leaves, start, end, res);
      res.end();
    } catch (error) {
      // Headers are gone: cutting the connection is the only way left to say the body is bad.
      res.destroy(error as Error);
    }
  }
}

/** InitiateJob's RetrievalByteRange "start-end" (inclusive), megabyte aligned; the whole archive when absent. */
function retrievalRange(text: string | undefined, size: number): { start: number; end: number } {
  if (text === undefined) return { start: 0, end: size };
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(text);
  const start = Number(match?.[1]);
  const end = Number(match?.[2]) + 1;
  if (!match || !isMegabyteAligned(start, end, size))
    throw invalid(`Invalid RetrievalByteRange: ${text}. It must be megabyte aligned within the archive's ${size} bytes.`);
  return { start, end };
}

/** GetJobOutput's Range "bytes=start-end" or "bytes=start-", relative to the job's output. */
function outputRange(header: string | undefined, total: number): { start: number; end: number; partial: boolean } {
  if (header === undefined) return { start: 0, end: total, partial: false };
  const match = /^bytes=(\d{1,16})-(\d{0,16})$/.exec(header);
  const start = Number(match?.[1]);
  const end = match?.[2] ? Math.min(total, Number(match[2]) + 1) : total;
  if (!match || start >= end) throw invalid(`Invalid range: ${header} for output of ${total} bytes`);
  return { start, end, partial: true };
}
