// Whether each tape drive gets a thread of its own: chosen by the machine's cores unless set
// (src/gateway/drive-thread.ts says why from 6 cores).
import assert from 'node:assert/strict';
import { drivesInThreads, WORKER_FROM_CORES } from '../../src/gateway/drive-thread.ts';
import { load, problem } from './helpers.ts';

describe('drive threads setting', () => {
  it('chooses by the cores by default, and takes "worker" or "main" by flag or variable', () => {
    const auto = load([]).library;
    assert.equal(auto.driveThreads, 'auto');
    assert.equal(drivesInThreads(auto, 2), false, 'two cores: every drive on the main thread');
    assert.equal(drivesInThreads(auto, WORKER_FROM_CORES - 1), false);
    assert.equal(drivesInThreads(auto, WORKER_FROM_CORES), true, 'from six cores: a thread per drive');
    assert.equal(drivesInThreads(load(['--drive-threads', 'worker']).library, 2), true);
    assert.equal(drivesInThreads(load([], { GATEWAY_LIBRARY_DRIVE_THREADS: 'main' }).library, 64), false);
    assert.equal(
      drivesInThreads(load(['--library-targets', 'single', '--drive-threads', 'worker']).library, 64),
      false,
      'one target carries every drive',
    );
  });

  it('refuses anything else, saying what to write', () => {
    assert.match(
      problem(['--drive-threads', 'pool']).message,
      /must be "auto" \(by the cores\), "worker" \(a thread per drive\) or "main"/,
    );
  });
});
