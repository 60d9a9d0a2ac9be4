// Where the cache's S3 requests run: a worker thread by default, the main thread when asked.
import assert from 'node:assert/strict';
import { load, problem } from './helpers.ts';

describe('S3 request thread setting', () => {
  it('runs the requests in a worker by default, on the main thread by flag or variable', () => {
    assert.equal(load([]).s3.requestThread, 'worker');
    assert.equal(load(['--s3-request-thread', 'main']).s3.requestThread, 'main');
    assert.equal(load([], { GATEWAY_S3_REQUEST_THREAD: 'main' }).s3.requestThread, 'main');
  });

  it('refuses anything else, saying what to write', () => {
    assert.match(problem(['--s3-request-thread', 'pool']).message, /must be "worker" \(a thread of their own\) or "main"/);
  });
});
