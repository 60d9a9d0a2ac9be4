import assert from 'node:assert/strict';
import { InvariantError, must } from '../src/must.ts';

describe('must', () => {
  it('gives back a value that is there, falsy ones included', () => {
    assert.equal(must(0, 'a count'), 0);
    assert.equal(must('', 'a name'), '');
    assert.equal(must(null, 'a slot'), null);
  });

  it('throws an InvariantError that names what was missing', () => {
    assert.throws(
      () => must([1, 2][5], 'the sixth element'),
      (error: unknown) =>
        error instanceof InvariantError && error.name === 'InvariantError' && error.message === 'missing the sixth element',
    );
  });
});
