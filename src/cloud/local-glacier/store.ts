// The endpoint's state on disk, one directory per vault:
//   vaults/v-<name>/vault.json                      name, creation date, vault lock
//   vaults/v-<name>/archives/<id>.{json,data,leaves}  metadata, bytes, 1 MiB leaf hashes
//   vaults/v-<name>/uploads/<id>/upload.json, part-<n>.{json,data}
//   vaults/v-<name>/jobs/<id>.json (+ .data/.leaves: the archive hard-linked, or the inventory)
// Data is written and synced before the metadata that makes it visible, so a
// crash leaves at worst an orphan file, removed at the next start.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, notFound } from './errors.ts';
import { moveIntoPlace, readJson, writeFileDurably, writeJson } from './files.ts';

export interface VaultLock {
  policy: string;
  state: 'InProgress' | 'Locked';
  lockId: string;
  creationDate: string;
  expirationDate?: string;
}

export interface VaultRecord {
  name: string;
  creationDate: string;
  lastInventoryDate?: string;
  lock?: VaultLock;
}

export interface ArchiveRecord {
  id: string;
  description: string;
  creationDate: string;
  size: number;
  treeHash: string;
}

export interface UploadRecord {
  id: string;
  description: string;
  partSize: number;
  creationDate: string;
  /** Set once completed, so that a repeated Complete answers the same archive. */
  archive?: { id: string; treeHash: string; size: number };
}

export interface PartRecord {
  start: number;
  end: number;
  treeHash: string;
}

export interface JobRecord {
  id: string;
  action: 'ArchiveRetrieval' | 'InventoryRetrieval';
  tier?: string;
  description?: string;
  creationDate: string;
  /** When the job counts as done (ms since the epoch). */
  completesAt: number;
  archive?: ArchiveRecord;
  /** Retrieved range of the archive, end exclusive. */
  range?: { start: number; end: number };
  /** Tree hash of that range, when it is tree-hash aligned. */
  rangeTreeHash?: string;
  /** Inventory output: its length and SHA-256. */
  inventory?: { size: number; sha256: string; format: 'JSON' };
}

const VAULT_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const ID = /^[A-Za-z0-9_-]{1,200}$/;

export const newId = (bytes: number): string => randomBytes(bytes).toString('base64url');

export class GlacierStore {
  private readonly vaultUpdates = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  async open(): Promise<void> {
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'), { recursive: true });
    await mkdir(join(this.root, 'vaults'), { recursive: true });
    for (const vault of await this.listVaults()) await this.removeOrphans(vault.name);
  }

  vaultDir(name: string): string {
    if (!VAULT_NAME.test(name)) throw invalid(`Invalid vault name: ${name.slice(0, 300)}`);
    return join(this.root, 'vaults', `v-${name}`);
  }

  async createVault(name: string): Promise<void> {
    const dir = this.vaultDir(name);
    if (await readJson<VaultRecord>(join(dir, 'vault.json'))) return;
    for (const sub of ['archives', 'uploads', 'jobs']) await mkdir(join(dir, sub), { recursive: true });
    await this.writeVault({ name, creationDate: new Date().toISOString() });
  }

  async vault(name: string): Promise<VaultRecord> {
    const record = await readJson<VaultRecord>(join(this.vaultDir(name), 'vault.json'));
    if (!record) throw notFound(`Vault not found for ARN: ${name}`);
    return record;
  }

  private writeVault(record: VaultRecord): Promise<void> {
    return writeJson(this.root, join(this.vaultDir(record.name), 'vault.json'), record);
  }

  /** Reads, changes and writes a vault's record, one change at a time per vault, so none is lost. */
  updateVault(name: string, change: (record: VaultRecord) => VaultRecord): Promise<VaultRecord> {
    const run = (this.vaultUpdates.get(name) ?? Promise.resolve()).then(async () => {
      const updated = change(await this.vault(name));
      await this.writeVault(updated);
      return updated;
    });
    this.vaultUpdates.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }

  async listVaults(): Promise<VaultRecord[]> {
    const names = (await readdir(join(this.root, 'vaults'))).filter((n) => n.startsWith('v-')).map((n) => n.slice(2));
    const records = await Promise.all(names.filter((n) => VAULT_NAME.test(n)).map((n) => this.vault(n).catch(() => undefined)));
    return records.filter((r): r is VaultRecord => r !== undefined).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async deleteVault(name: string): Promise<void> {
    await this.vault(name);
    if ((await this.listArchives(name)).length > 0) throw invalid(`Vault not empty or recently written to: ${name}`);
    await rm(this.vaultDir(name), { recursive: true, force: true });
  }

  archivePath(vault: string, id: string, ext: 'json' | 'data' | 'leaves'): string {
    if (!ID.test(id)) throw notFound(`Archive not found: ${id.slice(0, 200)}`);
    return join(this.vaultDir(vault), 'archives', `${id}.${ext}`);
  }

  /** Makes synced temporary files an archive: bytes and leaves first, the metadata last. */
  async addArchive(
    vault: string,
    dataFile: string,
    leaves: Buffer,
    record: Omit<ArchiveRecord, 'id' | 'creationDate'>,
  ): Promise<ArchiveRecord> {
    const archive: ArchiveRecord = { id: newId(102), creationDate: new Date().toISOString(), ...record };
    await moveIntoPlace(dataFile, this.archivePath(vault, archive.id, 'data'));
    await writeFileDurably(this.root, this.archivePath(vault, archive.id, 'leaves'), leaves);
    await writeJson(this.root, this.archivePath(vault, archive.id, 'json'), archive);
    return archive;
  }

  async archive(vault: string, id: string): Promise<ArchiveRecord> {
    const record = await readJson<ArchiveRecord>(this.archivePath(vault, id, 'json'));
    if (!record) throw notFound(`Archive not found: ${id}`);
    return record;
  }

  async listArchives(vault: string): Promise<ArchiveRecord[]> {
    const files = (await readdir(join(this.vaultDir(vault), 'archives'))).filter((f) => f.endsWith('.json'));
    const records = await Promise.all(files.map((f) => readJson<ArchiveRecord>(join(this.vaultDir(vault), 'archives', f))));
    return records.filter((r): r is ArchiveRecord => r !== undefined).sort((a, b) => (a.creationDate < b.creationDate ? -1 : 1));
  }

  async deleteArchive(vault: string, id: string): Promise<void> {
    await unlink(this.archivePath(vault, id, 'json'));
    await rm(this.archivePath(vault, id, 'data'), { force: true });
    await rm(this.archivePath(vault, id, 'leaves'), { force: true });
  }

  uploadDir(vault: string, id: string): string {
    if (!ID.test(id)) throw notFound(`Multipart upload not found: ${id.slice(0, 200)}`);
    return join(this.vaultDir(vault), 'uploads', id);
  }

  async createUpload(vault: string, description: string, partSize: number): Promise<UploadRecord> {
    const upload: UploadRecord = { id: newId(69), description, partSize, creationDate: new Date().toISOString() };
    await mkdir(this.uploadDir(vault, upload.id), { recursive: true });
    await this.writeUpload(vault, upload);
    return upload;
  }

  writeUpload(vault: string, upload: UploadRecord): Promise<void> {
    return writeJson(this.root, join(this.uploadDir(vault, upload.id), 'upload.json'), upload);
  }

  /** An upload in progress; `completed` also finds one already completed. */
  async upload(vault: string, id: string, completed = false): Promise<UploadRecord> {
    const record = await readJson<UploadRecord>(join(this.uploadDir(vault, id), 'upload.json'));
    if (!record || (record.archive && !completed)) throw notFound(`Multipart upload not found: ${id}`);
    return record;
  }

  async listUploads(vault: string): Promise<UploadRecord[]> {
    await this.vault(vault);
    const ids = await readdir(join(this.vaultDir(vault), 'uploads'));
    const records = await Promise.all(ids.filter((id) => ID.test(id)).map((id) => this.upload(vault, id).catch(() => undefined)));
    return records.filter((r): r is UploadRecord => r !== undefined).sort((a, b) => (a.creationDate < b.creationDate ? -1 : 1));
  }

  partPath(vault: string, upload: string, index: number, ext: 'json' | 'data'): string {
    return join(this.uploadDir(vault, upload), `part-${index}.${ext}`);
  }

  async addPart(vault: string, upload: string, index: number, dataFile: string, part: PartRecord): Promise<void> {
    // The old record goes first: a crash between the two renames must not pair new bytes with an old hash.
    await rm(this.partPath(vault, upload, index, 'json'), { force: true });
    await moveIntoPlace(dataFile, this.partPath(vault, upload, index, 'data'));
    await writeJson(this.root, this.partPath(vault, upload, index, 'json'), part);
  }

  async listParts(vault: string, upload: string): Promise<Map<number, PartRecord>> {
    const parts = new Map<number, PartRecord>();
    for (const file of await readdir(this.uploadDir(vault, upload))) {
      const match = /^part-(\d+)\.json$/.exec(file);
      if (!match) continue;
      const part = await readJson<PartRecord>(join(this.uploadDir(vault, upload), file));
      if (part) parts.set(Number(match[1]), part);
    }
    return parts;
  }

  /** Drops the parts of a completed upload, keeping its record for repeated Completes. */
  async finishUpload(vault: string, upload: UploadRecord): Promise<void> {
    await this.writeUpload(vault, upload);
    for (const file of await readdir(this.uploadDir(vault, upload.id))) {
      if (file.startsWith('part-')) await rm(join(this.uploadDir(vault, upload.id), file), { force: true });
    }
  }

  async deleteUpload(vault: string, id: string): Promise<void> {
    await this.upload(vault, id);
    await rm(this.uploadDir(vault, id), { recursive: true, force: true });
  }

  jobPath(vault: string, id: string, ext: 'json' | 'data' | 'leaves'): string {
    if (!ID.test(id)) throw notFound(`Job not found: ${id.slice(0, 200)}`);
    return join(this.vaultDir(vault), 'jobs', `${id}.${ext}`);
  }

  /** Records a job; an archive retrieval keeps the archive's files by hard links, so deleting the archive spares the job. */
  async addJob(vault: string, job: JobRecord, inventoryFile?: string): Promise<void> {
    if (job.archive) {
      for (const ext of ['data', 'leaves'] as const) {
        await rm(this.jobPath(vault, job.id, ext), { force: true });
        await link(this.archivePath(vault, job.archive.id, ext), this.jobPath(vault, job.id, ext));
      }
    }
    if (inventoryFile) await moveIntoPlace(inventoryFile, this.jobPath(vault, job.id, 'data'));
    await writeJson(this.root, this.jobPath(vault, job.id, 'json'), job);
  }

  async job(vault: string, id: string): Promise<JobRecord> {
    await this.vault(vault);
    const record = await readJson<JobRecord>(this.jobPath(vault, id, 'json'));
    if (!record) throw notFound(`Job not found: ${id}`);
    return record;
  }

  async listJobs(vault: string): Promise<JobRecord[]> {
    await this.vault(vault);
    const files = (await readdir(join(this.vaultDir(vault), 'jobs'))).filter((f) => f.endsWith('.json'));
    const records = await Promise.all(files.map((f) => readJson<JobRecord>(join(this.vaultDir(vault), 'jobs', f))));
    return records
      .filter((r): r is JobRecord => r !== undefined)
      .sort((a, b) => (a.creationDate < b.creationDate ? -1 : a.creationDate > b.creationDate ? 1 : a.id < b.id ? -1 : 1));
  }

  /** Files whose metadata never landed (a crash mid-write). */
  private async removeOrphans(vault: string): Promise<void> {
    for (const [sub, owner] of [
      ['archives', 'json'],
      ['jobs', 'json'],
    ] as const) {
      const dir = join(this.vaultDir(vault), sub);
      const files = new Set(await readdir(dir).catch(() => [] as string[]));
      for (const file of files) {
        const base = file.replace(/\.(data|leaves)$/, '');
        if (base !== file && !files.has(`${base}.${owner}`)) await rm(join(dir, file), { force: true });
      }
    }
  }
}
