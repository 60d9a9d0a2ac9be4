// Retrieval, step by step (RETRIEVING): a Glacier job is started and polled
// (or, for an S3 object, a restore requested and HeadObject polled);
// its output is downloaded with tree-hash checks, unpacked and every object
// checked against the table of contents, written back to the bucket; then the
// cartridge goes, read-only, into a free import/export slot (RETRIEVED).
import { setTimeout as sleep } from 'node:timers/promises';
import { ChecksumMismatchError } from '../cloud/retry.ts';
import { openStream } from '../cloud/sealed-stream.ts';
import { TreeHasher } from '../cloud/tree-hash.ts';
import { cartridgeKeys } from '../tape/cartridge.ts';
import { ArchiveFormatError, decodeContainer, type ContainerHeader } from './archive-format.ts';
import type { ArchiveRef, ShelfEntry } from './shelf-catalog.ts';
import type { ArchiveDestination } from './destination.ts';
import { abortable, destinationOf, IrrecoverableError, rate, type Step } from './step.ts';

export async function retrieveStep(step: Step, entry: ShelfEntry): Promise<void> {
  const archive = entry.archive!;
  const retrieval = entry.retrieval!;
  const destination = destinationOf(step.parts, archive.vault);
  if (!retrieval.jobId) {
    const jobId = await destination.requestRetrieval(archive.archiveId, retrieval.tier, entry.barcode);
    await step.save({ ...entry, retrieval: { ...retrieval, jobId } });
    return;
  }
  if (!retrieval.restored) {
    const state = await destination.retrievalState(archive.archiveId, retrieval.jobId, retrieval.tier);
    if (state.state === 'request-again') {
      await step.save({ ...entry, retrieval: { tier: retrieval.tier } });
      return;
    }
    if (state.state === 'failed') throw new IrrecoverableError(state.reason);
    if (state.state === 'waiting') {
      await sleep(state.pollMs, undefined, { signal: step.signal });
      return;
    }
    await restore(step, entry, archive, destination, retrieval.jobId);
    await step.save({ ...entry, retrieval: { ...retrieval, restored: true } });
    return;
  }
  const { tapes, library } = step.parts;
  const record = await tapes.get(entry.barcode);
  if (record && !record.readOnly) await tapes.put({ ...record, readOnly: true });
  if (!library.locate(entry.barcode)) await library.insert(entry.barcode, 'import-export');
  await step.save({ ...entry, status: 'RETRIEVED', retrieval: undefined, retrievedAt: new Date().toISOString(), error: undefined });
}

/** Downloads and unpacks the archive into the bucket; any mismatch is IrrecoverableError, never a short cartridge. */
async function restore(step: Step, entry: ShelfEntry, archive: ArchiveRef, destination: ArchiveDestination, jobId: string): Promise<void> {
  const { tapeStore } = step.parts;
  const whole = new TreeHasher();
  const started = performance.now();
  let received = 0;
  const chunks = async function* (): AsyncGenerator<Buffer> {
    for await (const data of destination.read(archive.archiveId, jobId)) {
      step.signal.throwIfAborted();
      whole.update(data);
      received += data.length;
      step.progress(Math.floor((received / archive.size) * 100));
      yield data;
    }
  };
  // An archive restores objects of its own cartridge only.
  const { prefix } = cartridgeKeys(entry.barcode);
  let next = 0;
  try {
    for await (const item of decodeContainer(openStream(chunks(), step.parts.encryption))) {
      if (!('object' in item)) {
        checkHeader(item, entry.barcode, archive, prefix);
        continue;
      }
      const expected = archive.toc[next++]!;
      if (item.crc !== expected.crc32c >>> 0)
        throw new IrrecoverableError(`object ${expected.key} does not match the CRC32C recorded when it was archived`);
      await tapeStore.write(item.object.key, 0, item.data);
    }
  } catch (error) {
    if (error instanceof ArchiveFormatError || error instanceof ChecksumMismatchError)
      throw new IrrecoverableError(`archive ${archive.archiveId} cannot be read back whole: ${error.message}`);
    throw error;
  }
  const hash = whole.digest().toString('hex');
  if (received !== archive.size || hash !== archive.treeHash) {
    throw new IrrecoverableError(
      `archive ${archive.archiveId} came back as ${received} bytes with tree hash ${hash}; it was stored as ${archive.size} bytes with ${archive.treeHash}`,
    );
  }
  await abortable(tapeStore.drain(archive.toc.map((o) => o.key)), step.signal);
  step.log.info({ archiveId: archive.archiveId, ...rate(received, started) }, 'cartridge downloaded, checked and restored to the bucket');
}

function checkHeader(header: ContainerHeader, barcode: string, archive: ArchiveRef, prefix: string): void {
  const same =
    header.barcode === barcode &&
    header.objects.length === archive.toc.length &&
    header.objects.every((o, i) => o.key === archive.toc[i]!.key && o.size === archive.toc[i]!.size && o.key.startsWith(prefix));
  if (!same)
    throw new IrrecoverableError(`archive ${archive.archiveId} does not list the objects recorded when cartridge ${barcode} was archived`);
}
