// Archival, step by step: the cartridge leaves the library (IN_TRANSIT_TO_VTS)
// and its data is uploaded; its objects stream into one archive (a Glacier
// archive or an S3 object in an archive storage class: destination.ts)
// (ARCHIVING); once the archive is recorded, its objects are deleted (ARCHIVED).
import { sealedSize, sealStream } from '../cloud/sealed-stream.ts';
import { encodeContainer, containerSize, type ObjectSpec } from './archive-format.ts';
import { cartridgeObjects } from './cartridge-objects.ts';
import { UploadGoneError } from './destination.ts';
import type { ArchiveRef, ShelfEntry, TocEntry } from './shelf-catalog.ts';
import { abortable, destinationOf, rate, type Step } from './step.ts';

const READ_BYTES = 8 * 1024 * 1024;

export async function archiveStep(step: Step, entry: ShelfEntry): Promise<void> {
  if (entry.status === 'IN_TRANSIT_TO_VTS') return leaveLibrary(step, entry);
  if (entry.archive) return deleteObjects(step, entry, entry.archive);
  return upload(step, entry);
}

async function leaveLibrary(step: Step, entry: ShelfEntry): Promise<void> {
  const { library, tapeStore } = step.parts;
  if (library.locate(entry.barcode)) await library.remove(entry.barcode);
  // A cartridge retrieved earlier still has its archive: only its restored objects go.
  if (!entry.archive) {
    const objects = await cartridgeObjects(tapeStore, entry.barcode);
    await abortable(tapeStore.drain(objects.map((o) => o.key)), step.signal);
  }
  await step.save({ ...entry, status: 'ARCHIVING', error: undefined });
}

async function upload(step: Step, entry: ShelfEntry): Promise<void> {
  const { tapeStore } = step.parts;
  const { signal } = step;
  const destination = destinationOf(step.parts, entry.vault);
  let current = entry;
  if (current.upload?.completing) {
    // Everything was sent before a restart: the same Complete answers the same archive.
    const { completing } = current.upload;
    try {
      const done = await destination.complete(entry.barcode, current.upload.uploadId, completing);
      return recorded(step, current, {
        vault: destination.name,
        archiveId: done.archiveId,
        treeHash: completing.treeHash,
        size: completing.size,
        toc: completing.toc,
        archivedAt: new Date().toISOString(),
      });
    } catch (error) {
      if (!(error instanceof UploadGoneError)) throw error;
      step.log.warn({ err: error }, 'the recorded upload cannot be completed any more: sending the archive again');
    }
  }
  if (current.upload) {
    // Parts of an upload cut short: dropped, and the archive sent again whole.
    await destination.abort(entry.barcode, current.upload.uploadId).catch(() => undefined);
    current = await step.save({ ...current, upload: undefined });
  }
  await destination.prepare();
  const objects = await cartridgeObjects(tapeStore, entry.barcode);
  const header = { barcode: entry.barcode, objects };
  const { encryption } = step.parts;
  const total = encryption ? sealedSize(containerSize(header)) : containerSize(header);
  const toc: TocEntry[] = [];
  const read = async function* (object: ObjectSpec): AsyncGenerator<Buffer> {
    for (let at = 0; at < object.size; at += READ_BYTES) {
      signal.throwIfAborted();
      yield await tapeStore.read(object.key, at, Math.min(READ_BYTES, object.size - at));
    }
  };
  const container = encodeContainer(header, read, (object, crc32c) => toc.push({ ...object, crc32c }));
  const source = encryption ? sealStream(container, encryption.current) : container;
  const started = performance.now();
  const done = await destination.upload(entry.barcode, source, total, {
    onInitiated: async (uploadId) => void (current = await step.save({ ...current, upload: { uploadId } })),
    onCompleting: async (uploadId, completing) =>
      void (current = await step.save({ ...current, upload: { uploadId, completing: { ...completing, toc } } })),
    onProgress: (bytes) => step.progress(Math.floor((bytes / total) * 100)),
  });
  step.log.info(
    { destination: destination.name, archiveId: done.archiveId, ...rate(done.size, started) },
    'cartridge uploaded to its archive destination',
  );
  await recorded(step, current, {
    vault: destination.name,
    archiveId: done.archiveId,
    treeHash: done.treeHash,
    size: done.size,
    toc,
    archivedAt: new Date().toISOString(),
  });
}

async function recorded(step: Step, entry: ShelfEntry, archive: ArchiveRef): Promise<void> {
  await step.save({ ...entry, upload: undefined, archive, error: undefined });
}

async function deleteObjects(step: Step, entry: ShelfEntry, archive: ArchiveRef): Promise<void> {
  // Through the engine, so that the cache forgets them too; its queue deletes them from the bucket.
  for (const { key } of archive.toc) {
    step.signal.throwIfAborted();
    await step.parts.tapeStore.delete(key);
  }
  await step.save({ ...entry, status: 'ARCHIVED', retrieval: undefined, error: undefined });
}
