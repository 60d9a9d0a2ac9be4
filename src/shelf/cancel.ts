// An operator's cancel, carried out as the job's last step (it is recorded
// first, so a restart finishes it): an archival puts the cartridge back in a
// storage slot with its data; a retrieval drops what was restored.
import type { ShelfEntry } from './shelf-catalog.ts';
import { destinationOf, type Step } from './step.ts';

export async function cancelStep(step: Step, entry: ShelfEntry): Promise<void> {
  const { library, tapeStore, shelf } = step.parts;
  if (entry.cancel === 'archival') {
    if (entry.upload)
      await destinationOf(step.parts, entry.vault)
        .abort(entry.barcode, entry.upload.uploadId)
        .catch(() => undefined);
    if (!library.locate(entry.barcode)) await library.insert(entry.barcode, 'slot');
    step.signal.throwIfAborted();
    await shelf.delete(entry.barcode);
    return;
  }
  if (library.locate(entry.barcode)) await library.remove(entry.barcode);
  for (const { key } of entry.archive?.toc ?? []) await tapeStore.delete(key);
  await step.save({ ...entry, status: 'ARCHIVED', retrieval: undefined, cancel: undefined, error: undefined });
}
