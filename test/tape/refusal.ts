// The message of a refusal by the tape layer, after checking it is a
// TapeServiceError with the code expected. `work` is a promise, or a function
// for what may throw before any promise exists.
import assert from 'node:assert/strict';
import { TapeServiceError } from '../../src/tape/tape-service.ts';

export async function refusal(work: Promise<unknown> | (() => unknown), code: string): Promise<string> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    assert.ok(err instanceof TapeServiceError, String(err));
    assert.equal(err.code, code, err.message);
    return err.message;
  }
  assert.fail(`expected ${code}`);
}
