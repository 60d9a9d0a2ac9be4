// Archive operations: single uploads, multipart uploads checked part by part and
// as a whole, deletion (under the vault lock).
import { open, rm } from 'node:fs/promises';
import { TreeHasher, combineTreeHashes, isValidPartSize } from '../tree-hash.ts';
import { denied, invalid } from './errors.ts';
import {
  archiveDescription,
  checksumMismatch,
  contentLength,
  json,
  page,
  receiveChecked,
  requiredHeader,
  send,
  treeHashHeader,
  type Call,
  type Names,
} from './http.ts';
import { readBounded, tempPath } from './files.ts';
import type { ArchiveRecord, GlacierStore, UploadRecord } from './store.ts';
import { deletionDenied } from './vault-lock.ts';
import { activeLock } from './vaults.ts';

const MAX_ARCHIVE = 4 * 1024 ** 3;

export class ArchiveOperations {
  constructor(
    private readonly store: GlacierStore,
    private readonly names: Names,
  ) {}

  async uploadArchive({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const description = archiveDescription(req);
    const length = contentLength(req, MAX_ARCHIVE);
    const received = await receiveChecked(this.store.root, req, length);
    try {
      const archive = await this.store.addArchive(vault, received.path, received.leaves, {
        description,
        size: length,
        treeHash: received.treeHash,
      });
      send(res, 201, {
        Location: this.names.path(vault, 'archives', archive.id),
        'x-amz-archive-id': archive.id,
        'x-amz-sha256-tree-hash': archive.treeHash,
      });
    } finally {
      await rm(received.path, { force: true });
    }
  }

  async deleteArchive({ res, vault, id }: Call): Promise<void> {
    const archive = await this.store.archive(vault, id);
    const lock = activeLock(await this.store.vault(vault));
    if (lock && deletionDenied(lock.policy, archive.creationDate)) {
      throw denied(`Archive ${id} is protected by the vault lock policy of ${this.names.arn(vault)}`);
    }
    await this.store.deleteArchive(vault, id);
    send(res, 204);
  }

  async initiateUpload({ req, res, vault }: Call): Promise<void> {
    await this.store.vault(vault);
    const partSizeHeader = requiredHeader(req, 'x-amz-part-size');
    const partSize = Number(partSizeHeader);
    if (!isValidPartSize(partSize))
      throw invalid(`Invalid part size: ${partSizeHeader}. Part size must be a power of two from 1 MiB to 4 GiB.`);
    const upload = await this.store.createUpload(vault, archiveDescription(req), partSize);
    send(res, 201, { Location: this.names.path(vault, 'multipart-uploads', upload.id), 'x-amz-multipart-upload-id': upload.id });
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
    send(res, 201, {
      Location: this.names.path(vault, 'archives', done.id),
      'x-amz-archive-id': done.id,
      'x-amz-sha256-tree-hash': done.treeHash,
    });
  }

  /** Checks the parts against the declared size and tree hash, then joins them into an archive, re-reading every byte. */
  private async assemble(vault: string, upload: UploadRecord, size: number, given: string): Promise<ArchiveRecord> {
    const parts = await this.store.listParts(vault, upload.id);
    const count = Math.ceil(size / upload.partSize);
    for (let i = 0; i < count; i++) {
      const part = parts.get(i);
      if (!part || part.start !== i * upload.partSize || part.end !== Math.min(size, (i + 1) * upload.partSize)) {
        throw invalid(
          `Archive size ${size} does not match the uploaded parts: part ${i} (bytes ${i * upload.partSize}-) is missing or of the wrong size`,
        );
      }
    }
    if ([...parts.keys()].some((i) => i >= count))
      throw invalid(`Archive size ${size} does not match the uploaded parts: parts lie beyond it`);
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
      const archive = await this.store.addArchive(vault, temp, Buffer.concat(leaves), {
        description: upload.description,
        size,
        treeHash: given,
      });
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
      VaultARN: this.names.arn(vault),
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
        VaultARN: this.names.arn(vault),
      })),
      Marker: marker,
    });
  }
}
