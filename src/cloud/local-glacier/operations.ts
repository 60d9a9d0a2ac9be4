// The Glacier operations, each answering as the Glacier REST API does (status,
// headers, JSON field names), over the on-disk store.
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TreeHasher, combineTreeHashes, isMegabyteAligned, isTreeHashAligned, isValidPartSize } from '../tree-hash.ts';
import { rangeTreeHash as treeHashOf, readLeaves, receive, sendVerified } from './archive-io.ts';
import { GlacierError, denied, invalid, missing, notFound } from './errors.ts';
import { readBounded, tempPath, writeFileDurably } from './files.ts';
import { newId, type ArchiveRecord, type GlacierStore, type JobRecord, type UploadRecord, type VaultRecord } from './store.ts';
import { deletionDenied, deletionRules } from './vault-lock.ts';

const MAX_ARCHIVE = 4 * 1024 ** 3;
const MAX_JSON_BODY = 64 * 1024;
const LOCK_TTL_MS = 24 * 3600_000;
const TIERS = ['Expedited', 'Standard', 'Bulk'] as const;

/** Seconds from initiation to completion, per retrieval tier and for inventories. */
export type JobDelays = Record<(typeof TIERS)[number] | 'inventory', number>;

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  vault: string;
  /** The archive, upload, job or lock id of the path. */
  id: string;
  query: URLSearchParams;
}

export class Operations {
  constructor(
    private readonly store: GlacierStore,
    private readonly accountId: string,
    private readonly region: string,
    private readonly delays: JobDelays,
  ) {}

  private arn(vault: string): string {
    return `arn:aws:glacier:${this.region}:${this.accountId}:vaults/${vault}`;
  }

  private path(vault: string, ...rest: string[]): string {
    return [`/${this.accountId}/vaults/${vault}`, ...rest].join('/');
  }

  async createVault({ res, vault }: Call): Promise<void> {
    await this.store.createVault(vault);
    send(res, 201, { Location: this.path(vault) });
  }

  async describeVault({ res, vault }: Call): Promise<void> {
    json(res, 200, await this.describe(await this.store.vault(vault)));
  }

  private async describe(vault: VaultRecord): Promise<object> {
    const archives = await this.store.listArchives(vault.name);
    return {
      VaultARN: this.arn(vault.name),
      VaultName: vault.name,
      CreationDate: vault.creationDate,
      LastInventoryDate: vault.lastInventoryDate ?? null,
      NumberOfArchives: archives.length,
      SizeInBytes: archives.reduce((sum, a) => sum + a.size, 0),
    };
  }

  async listVaults({ res, query }: Call): Promise<void> {
    const { items, marker } = page(await this.store.listVaults(), (v) => this.arn(v.name), query, 10);
    json(res, 200, { VaultList: await Promise.all(items.map((v) => this.describe(v))), Marker: marker });
  }

  async deleteVault({ res, vault }: Call): Promise<void> {
    await this.store.deleteVault(vault);
    send(res, 204);
  }

  async uploadArchive({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const description = archiveDescription(req);
    const length = contentLength(req, MAX_ARCHIVE);
    const received = await receiveChecked(this.store.root, req, length);
    try {
      const archive = await this.store.addArchive(vault, received.path, received.leaves, { description, size: length, treeHash: received.treeHash });
      send(res, 201, { Location: this.path(vault, 'archives', archive.id), 'x-amz-archive-id': archive.id, 'x-amz-sha256-tree-hash': archive.treeHash });
    } finally {
      await rm(received.path, { force: true });
    }
  }

  async deleteArchive({ res, vault, id }: Call): Promise<void> {
    const archive = await this.store.archive(vault, id);
    const lock = activeLock(await this.store.vault(vault));
    if (lock && deletionDenied(lock.policy, archive.creationDate)) {
      throw denied(`Archive ${id} is protected by the vault lock policy of ${this.arn(vault)}`);
    }
    await this.store.deleteArchive(vault, id);
    send(res, 204);
  }

  async initiateUpload({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const partSize = Number(requiredHeader(req, 'x-amz-part-size'));
    if (!isValidPartSize(partSize)) throw invalid(`Invalid part size: ${req.headers['x-amz-part-size']}. Part size must be a power of two from 1 MiB to 4 GiB.`);
    const upload = await this.store.createUpload(vault, archiveDescription(req), partSize);
    send(res, 201, { Location: this.path(vault, 'multipart-uploads', upload.id), 'x-amz-multipart-upload-id': upload.id });
  }

  async uploadPart({ req, res, vault, id }: Call): Promise<void> {
    const upload = await this.store.upload(vault, id);
    const range = /^bytes (\d+)-(\d+)\/\*$/.exec(requiredHeader(req, 'content-range'));
    const start = Number(range?.[1]);
    const end = Number(range?.[2]) + 1;
    if (!range || start % upload.partSize !== 0 || end <= start || end - start > upload.partSize) {
      throw invalid(`Content-Range ${req.headers['content-range']} does not align with the part size ${upload.partSize}`);
    }
    const length = contentLength(req, upload.partSize);
    if (length !== end - start) throw invalid(`Content-Length ${length} does not match Content-Range ${req.headers['content-range']}`);
    const received = await receiveChecked(this.store.root, req, length);
    try {
      await this.store.addPart(vault, id, start / upload.partSize, received.path, { start, end, treeHash: received.treeHash });
    } finally {
      await rm(received.path, { force: true });
    }
    send(res, 204, { 'x-amz-sha256-tree-hash': received.treeHash });
  }

  async completeUpload({ req, res, vault, id }: Call): Promise<void> {
    const upload = await this.store.upload(vault, id, true);
    const sizeText = requiredHeader(req, 'x-amz-archive-size');
    const size = /^\d{1,16}$/.test(sizeText) ? Number(sizeText) : NaN;
    const given = treeHashHeader(req);
    if (!(size > 0)) throw invalid(`Invalid x-amz-archive-size: ${sizeText}`);
    const done = upload.archive ?? (await this.assemble(vault, upload, size, given));
    if (done.size !== size) throw invalid(`Archive size ${size} does not match the completed archive's ${done.size}`);
    if (done.treeHash !== given) throw checksumMismatch(done.treeHash, given);
    send(res, 201, { Location: this.path(vault, 'archives', done.id), 'x-amz-archive-id': done.id, 'x-amz-sha256-tree-hash': done.treeHash });
  }

  /** Checks the parts against the declared size and tree hash, then joins them into an archive, re-reading every byte. */
  private async assemble(vault: string, upload: UploadRecord, size: number, given: string): Promise<ArchiveRecord> {
    const parts = await this.store.listParts(vault, upload.id);
    const count = Math.ceil(size / upload.partSize);
    for (let i = 0; i < count; i++) {
      const part = parts.get(i);
      if (!part || part.start !== i * upload.partSize || part.end !== Math.min(size, (i + 1) * upload.partSize)) {
        throw invalid(`Archive size ${size} does not match the uploaded parts: part ${i} (bytes ${i * upload.partSize}-) is missing or of the wrong size`);
      }
    }
    if ([...parts.keys()].some((i) => i >= count)) throw invalid(`Archive size ${size} does not match the uploaded parts: parts lie beyond it`);
    const expected = combineTreeHashes(Array.from({ length: count }, (_, i) => Buffer.from(parts.get(i)!.treeHash, 'hex'))).toString('hex');
    if (expected !== given) throw checksumMismatch(expected, given);
    const temp = tempPath(this.store.root);
    const leaves: Buffer[] = [];
    const whole = new TreeHasher((leaf) => leaves.push(leaf));
    const out = await open(temp, 'w');
    try {
      for (let i = 0; i < count; i++) {
        const part = parts.get(i)!;
        const data = await readBounded(this.store.partPath(vault, upload.id, i, 'data'), upload.partSize);
        if (!data || data.length !== part.end - part.start || new TreeHasher().update(data).digest().toString('hex') !== part.treeHash) {
          throw new Error(`stored part ${i} of upload ${upload.id} is damaged`);
        }
        whole.update(data);
        await out.write(data);
      }
      await out.sync();
      await out.close();
      if (whole.digest().toString('hex') !== given) throw new Error(`assembled archive of upload ${upload.id} fails its tree hash`);
      const archive = await this.store.addArchive(vault, temp, Buffer.concat(leaves), { description: upload.description, size, treeHash: given });
      await this.store.finishUpload(vault, { ...upload, archive: { id: archive.id, treeHash: archive.treeHash, size } });
      return archive;
    } finally {
      await out.close().catch(() => undefined);
      await rm(temp, { force: true });
    }
  }

  async abortUpload({ res, vault, id }: Call): Promise<void> {
    await this.store.deleteUpload(vault, id);
    send(res, 204);
  }

  async listParts({ res, vault, id, query }: Call): Promise<void> {
    const upload = await this.store.upload(vault, id);
    const all = [...(await this.store.listParts(vault, id)).values()].sort((a, b) => a.start - b.start);
    const { items, marker } = page(all, (p) => String(p.start), query, 50);
    json(res, 200, {
      ArchiveDescription: upload.description,
      CreationDate: upload.creationDate,
      Marker: marker,
      MultipartUploadId: upload.id,
      PartSizeInBytes: upload.partSize,
      Parts: items.map((p) => ({ RangeInBytes: `${p.start}-${p.end - 1}`, SHA256TreeHash: p.treeHash })),
      VaultARN: this.arn(vault),
    });
  }

  async listUploads({ res, vault, query }: Call): Promise<void> {
    const { items, marker } = page(await this.store.listUploads(vault), (u) => u.id, query, 50);
    json(res, 200, {
      UploadsList: items.map((u) => ({
        ArchiveDescription: u.description,
        CreationDate: u.creationDate,
        MultipartUploadId: u.id,
        PartSizeInBytes: u.partSize,
        VaultARN: this.arn(vault),
      })),
      Marker: marker,
    });
  }

  async initiateJob({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const params = (await readJsonBody(req)) as Record<string, unknown>;
    const description = optionalString(params, 'Description', 1024);
    const base = { id: newId(69), description, creationDate: new Date().toISOString() };
    let job: JobRecord;
    if (params.Type === 'archive-retrieval') {
      const archiveId = optionalString(params, 'ArchiveId', 200);
      if (!archiveId) throw missing('ArchiveId is required for an archive-retrieval job');
      const archive = await this.store.archive(vault, archiveId);
      const tier = optionalString(params, 'Tier', 20) ?? 'Standard';
      if (!(TIERS as readonly string[]).includes(tier)) throw invalid(`Invalid tier: ${tier}`);
      const range = retrievalRange(optionalString(params, 'RetrievalByteRange', 64), archive.size);
      const rangeTreeHash = isTreeHashAligned(range.start, range.end, archive.size)
        ? treeHashOf(await readLeaves(this.store.archivePath(vault, archive.id, 'leaves'), archive.size, archive.treeHash), range.start, range.end)
        : undefined;
      job = { ...base, action: 'ArchiveRetrieval', tier, archive, range, rangeTreeHash, completesAt: Date.now() + this.delays[tier as (typeof TIERS)[number]] * 1000 };
      await this.store.addJob(vault, job);
    } else if (params.Type === 'inventory-retrieval') {
      if ((params.Format ?? 'JSON') !== 'JSON') throw invalid('Only the JSON inventory format is supported by this endpoint');
      if (params.InventoryRetrievalParameters !== undefined) throw invalid('InventoryRetrievalParameters are not supported by this endpoint');
      const inventory = Buffer.from(
        JSON.stringify({
          VaultARN: this.arn(vault),
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
        completesAt: Date.now() + this.delays.inventory * 1000,
      };
      await this.store.addJob(vault, job, temp);
      await this.store.updateVault(vault, (record) => ({ ...record, lastInventoryDate: base.creationDate }));
    } else {
      throw invalid(`Invalid job type: ${String(params.Type).slice(0, 50)}; this endpoint supports archive-retrieval and inventory-retrieval`);
    }
    send(res, 202, { Location: this.path(vault, 'jobs', job.id), 'x-amz-job-id': job.id });
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
      VaultARN: this.arn(vault),
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

  async initiateVaultLock({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const body = (await readJsonBody(req)) as { Policy?: unknown };
    const policy = body.Policy;
    if (typeof policy !== 'string') throw missing('Policy is required');
    deletionRules(policy);
    const now = Date.now();
    const lockId = newId(24);
    await this.store.updateVault(vault, (record) => {
      const lock = activeLock(record);
      if (lock) throw invalid(lock.state === 'Locked' ? `Vault is locked: ${this.arn(vault)}` : `Vault lock is in the InProgress state: ${this.arn(vault)}`);
      const expirationDate = new Date(now + LOCK_TTL_MS).toISOString();
      return { ...record, lock: { policy, state: 'InProgress', lockId, creationDate: new Date(now).toISOString(), expirationDate } };
    });
    send(res, 201, { 'x-amz-lock-id': lockId });
  }

  async completeVaultLock({ res, vault, id }: Call): Promise<void> {
    await this.store.updateVault(vault, (record) => {
      const lock = activeLock(record);
      if (!lock || lock.lockId !== id) throw invalid(`Invalid lock id ${id} for vault ${this.arn(vault)}`);
      return { ...record, lock: { policy: lock.policy, state: 'Locked', lockId: lock.lockId, creationDate: lock.creationDate } };
    });
    send(res, 204);
  }

  async abortVaultLock({ res, vault }: Call): Promise<void> {
    await this.store.updateVault(vault, (record) => {
      if (activeLock(record)?.state === 'Locked') throw invalid(`Vault is locked; its lock cannot be aborted: ${this.arn(vault)}`);
      return { name: record.name, creationDate: record.creationDate, lastInventoryDate: record.lastInventoryDate };
    });
    send(res, 204);
  }

  async getVaultLock({ res, vault }: Call): Promise<void> {
    const lock = activeLock(await this.store.vault(vault));
    if (!lock) throw notFound(`No vault lock policy found for vault: ${this.arn(vault)}`);
    json(res, 200, { Policy: lock.policy, State: lock.state, ExpirationDate: lock.expirationDate ?? null, CreationDate: lock.creationDate });
  }
}

/** The vault's lock unless it is an InProgress one past its 24 hours. */
function activeLock(vault: VaultRecord) {
  const lock = vault.lock;
  if (!lock || (lock.state === 'InProgress' && Date.parse(lock.expirationDate ?? '') <= Date.now())) return undefined;
  return lock;
}

function send(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

export function sendError(res: ServerResponse, error: GlacierError): void {
  json(res, error.status, { code: error.code, message: error.message, type: error.type });
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function requiredHeader(req: IncomingMessage, name: string): string {
  const value = single(req.headers[name]);
  if (value === undefined) throw missing(`Required header or parameter ${name} is missing`);
  return value;
}

function archiveDescription(req: IncomingMessage): string {
  const text = single(req.headers['x-amz-archive-description']) ?? '';
  if (text.length > 1024 || !/^[\x20-\x7e]*$/.test(text)) throw invalid('Invalid archive description: up to 1024 printable ASCII characters');
  return text;
}

function contentLength(req: IncomingMessage, max: number): number {
  const text = requiredHeader(req, 'content-length');
  const length = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(length > 0 && length <= max)) throw invalid(`Invalid Content-Length: ${text} (1 to ${max} bytes)`);
  return length;
}

function treeHashHeader(req: IncomingMessage): string {
  const value = requiredHeader(req, 'x-amz-sha256-tree-hash');
  if (!/^[0-9a-f]{64}$/.test(value)) throw invalid(`Invalid x-amz-sha256-tree-hash: ${value.slice(0, 100)}`);
  return value;
}

function checksumMismatch(calculated: string, provided: string): GlacierError {
  return invalid(`Checksum mismatch: expected ${provided} (provided), but calculated ${calculated}`);
}

/** A body received whole, its SHA-256 and tree hash compared with the declared ones. */
async function receiveChecked(root: string, req: IncomingMessage, length: number) {
  const treeHash = treeHashHeader(req);
  const contentSha = requiredHeader(req, 'x-amz-content-sha256');
  const received = await receive(req, tempPath(root), length);
  try {
    if (received.sha256 !== contentSha) throw invalid(`Checksum mismatch: x-amz-content-sha256 ${contentSha} does not match the payload's SHA-256 ${received.sha256}`);
    if (received.treeHash !== treeHash) throw checksumMismatch(received.treeHash, treeHash);
  } catch (error) {
    await rm(received.path, { force: true });
    throw error;
  }
  return received;
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const length = contentLength(req, MAX_JSON_BODY);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > length) throw invalid('Body longer than its Content-Length');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if (body.length !== length) throw invalid('Body shorter than its Content-Length');
  const declared = single(req.headers['x-amz-content-sha256']);
  if (declared === undefined || createHash('sha256').update(body).digest('hex') !== declared) {
    throw invalid('Checksum mismatch: x-amz-content-sha256 is missing or does not match the payload');
  }
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    if (value && typeof value === 'object') return value;
  } catch {
    // answered below
  }
  throw invalid('The request body is not a JSON object');
}

function optionalString(params: Record<string, unknown>, name: string, max: number): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) throw invalid(`Invalid ${name}`);
  return value;
}

/** InitiateJob's RetrievalByteRange "start-end" (inclusive), megabyte aligned; the whole archive when absent. */
function retrievalRange(text: string | undefined, size: number): { start: number; end: number } {
  if (text === undefined) return { start: 0, end: size };
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(text);
  const start = Number(match?.[1]);
  const end = Number(match?.[2]) + 1;
  if (!match || !isMegabyteAligned(start, end, size)) throw invalid(`Invalid RetrievalByteRange: ${text}. It must be megabyte aligned within the archive's ${size} bytes.`);
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

/** One page of a listing that starts at the item whose key is the marker. */
function page<T>(all: T[], key: (item: T) => string, query: URLSearchParams, defaultLimit: number): { items: T[]; marker: string | null } {
  const limitText = query.get('limit');
  const limit = limitText === null ? defaultLimit : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid(`Invalid limit: ${limitText}`);
  const markerText = query.get('marker');
  const start = markerText === null ? 0 : all.findIndex((item) => key(item) === markerText);
  if (start < 0) throw invalid(`Invalid marker: ${markerText}`);
  const next = all[start + limit];
  return { items: all.slice(start, start + limit), marker: next === undefined ? null : key(next) };
}
