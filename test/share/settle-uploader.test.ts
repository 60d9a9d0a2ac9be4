// The share's settle uploader: when uploads start, what flush() waits for, and
// that an upload coming back "not uploaded as it is now" (the node's key is
// moving) is not run again until the node changes: run again at once it came
// back the same way without any I/O, a loop of promises that starved the event
// loop, and with it the API and the NFS server, for as long as a flush waited.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/log.ts';
import { SettleUploader } from '../../src/share/fs/settle-uploader.ts';

/** A settling time no test waits out: only flush() starts uploads. */
const LONG = 3_600_000;

describe('share settle uploader', () => {
  let uploader: SettleUploader | undefined;
  afterEach(async () => {
    await uploader?.close();
  });

  it('runs an upload that came back not clean again only once the node is touched, however long a flush waits', async () => {
    let calls = 0;
    let moving = true;
    // Answers without I/O, as ShareFs does for a node whose key is moving. A bound on the
    // answers keeps the old behaviour (run again at once, for ever) from hanging this test.
    uploader = new SettleUploader({ upload: async () => ++calls >= 1000 || !moving }, LONG, silentLogger());
    uploader.touched(7);
    let flushed = false;
    const flush = uploader.flush().then(() => (flushed = true));
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    assert.equal(calls, 1, 'one try while the key moves');
    assert.equal(flushed, false, 'the flush waits for the node');
    assert.equal(uploader.dirtyCount, 1);

    moving = false;
    uploader.touched(7); // the move landed
    await flush;
    assert.equal(calls, 2);
    assert.equal(uploader.dirtyCount, 0);
  });

  it('resolves a flush once each of its ids is uploaded, and not for changes made after it', async () => {
    const uploaded: number[] = [];
    const gates = new Map<number, () => void>();
    uploader = new SettleUploader(
      {
        upload: (id) =>
          new Promise<boolean>((resolve) =>
            gates.set(id, () => {
              uploaded.push(id);
              resolve(true);
            }),
          ),
      },
      LONG,
      silentLogger(),
    );
    for (const id of [1, 2, 3]) uploader.touched(id);
    let flushed = false;
    const flush = uploader.flush().then(() => (flushed = true));
    await nextTurn();
    uploader.touched(4); // after the flush began: not waited for
    for (const id of [3, 1]) gates.get(id)!();
    await nextTurn();
    assert.equal(flushed, false, 'id 2 is still uploading');
    gates.get(2)!();
    await flush;
    assert.deepEqual(uploaded, [3, 1, 2]);
    assert.equal(uploader.dirtyCount, 1, 'id 4 is not uploaded yet');
    await nextTurn();
    gates.get(4)?.();
  });

  it('hurries an upload already running in the background once a flush waits for it', async () => {
    const hurries: AbortSignal[] = [];
    // As the engine does: a background upload ends only once hurried (clients keep the share busy).
    const upload = (_id: number, hurry: AbortSignal) => {
      hurries.push(hurry);
      return new Promise<boolean>((resolve) => hurry.addEventListener('abort', () => resolve(true), { once: true }));
    };
    uploader = new SettleUploader({ upload }, 1, silentLogger());
    uploader.touched(1);
    while (hurries.length === 0) await sleep(10); // settled: its upload runs in the background
    assert.equal(hurries[0]!.aborted, false, 'no one waits for it yet');
    await uploader.flush();
    assert.equal(hurries.length, 1, 'the same upload, hurried');
    assert.equal(uploader.dirtyCount, 0);
  });

  it('stops waiting when the flush is aborted, and the uploads go on', async () => {
    let release: (() => void) | undefined;
    uploader = new SettleUploader(
      { upload: () => new Promise<boolean>((resolve) => (release = () => resolve(true))) },
      LONG,
      silentLogger(),
    );
    uploader.touched(1);
    const abort = new AbortController();
    const flush = uploader.flush(abort.signal);
    await nextTurn();
    abort.abort();
    await flush;
    assert.equal(uploader.dirtyCount, 1, 'still uploading');
    release!();
    await uploader.flush();
    assert.equal(uploader.dirtyCount, 0);
  });

  it('retries a failed upload after a settling time, even while a flush waits', async () => {
    let calls = 0;
    uploader = new SettleUploader(
      {
        upload: async () => {
          calls++;
          throw new Error('the bucket is away');
        },
      },
      LONG,
      silentLogger(),
    );
    uploader.touched(1);
    const abort = new AbortController();
    const flush = uploader.flush(abort.signal);
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    assert.equal(calls, 1);
    assert.equal(uploader.failingCount, 1);
    abort.abort();
    await flush;
  });
});
