// Archival progress as an operator polls it: it never goes backwards while
// the cartridge stays ARCHIVING, through the upload and the steps recorded
// after its last byte (completing the archive, deleting the cartridge's
// objects), with the real parts in one process.
import assert from 'node:assert/strict';
import { Cartridge } from '../../src/tape/cartridge.ts';
import { startShelfFixture, type ShelfFixture } from './fixture.ts';

const MiB = 1024 * 1024;

describe('vault shelf progress', function () {
  this.timeout(120_000);
  let f: ShelfFixture;
  /** What GET /shelf/BARCODE answered at each read and delete the shelf made, in order. */
  const seen: { phase: string; status: string; progress: number | undefined }[] = [];
  let watched: string | undefined;

  const look = async (phase: string) => {
    if (!watched) return;
    const { body } = await f.call('GET', `/shelf/${watched}`);
    seen.push({ phase, status: body.status, progress: body.progress });
  };

  before(async () => {
    f = await startShelfFixture({
      jobDelaySeconds: 3600,
      // Every read (the upload) and delete (after it) of the shelf looks first.
      shelfStore: (store) =>
        new Proxy(store, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            const phase = property === 'read' ? 'upload' : property === 'delete' ? 'deleting objects' : undefined;
            if (!phase || typeof value !== 'function') return value;
            return async (...args: unknown[]) => {
              await look(phase);
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    });
  });
  after(async () => {
    await f.close();
  });

  it('never goes backwards while ARCHIVING: 100% while the objects are deleted after the upload', async () => {
    await f.cartridge('PRG001L5');
    const cartridge = await Cartridge.open(f.tapeStore, 'PRG001L5');
    for (let i = 0; i < 4; i++) await cartridge.writeRecords([Buffer.alloc(MiB, i)]);
    await cartridge.flush();
    watched = 'PRG001L5';
    assert.equal((await f.call('POST', '/tapes/PRG001L5/archive')).status, 202);
    await f.until('PRG001L5', 'ARCHIVED');

    const archiving = seen.filter((s) => s.status === 'ARCHIVING');
    assert.ok(
      archiving.some((s) => s.phase === 'deleting objects'),
      'looked while the objects were deleted',
    );
    let highest = 0;
    for (const s of archiving) {
      assert.ok(
        s.progress !== undefined && s.progress >= highest,
        `progress went from ${highest}% back to ${s.progress}% (${s.phase}): ${JSON.stringify(seen)}`,
      );
      highest = s.progress;
    }
    for (const s of archiving.filter((s) => s.phase === 'deleting objects'))
      assert.equal(s.progress, 100, 'the whole archive is stored by then');
  });
});
