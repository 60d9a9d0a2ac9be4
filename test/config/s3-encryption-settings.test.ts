// The server-side encryption settings: SSE-S3, SSE-KMS with a key ARN, and
// refusals that say what to write instead.
import assert from 'node:assert/strict';
import { load, problem } from './helpers.ts';

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const remote = ['--s3-endpoint', 'https://s3.eu-west-1.amazonaws.com'];

describe('S3 server-side encryption settings', () => {
  it('asks for none by default, SSE-S3, or SSE-KMS with its key', () => {
    assert.equal(load([]).s3.sse, undefined);
    assert.deepEqual(load([...remote, '--s3-sse', 'SSE-S3']).s3.sse, { mode: 'SSE-S3' });
    assert.deepEqual(load(remote, { GATEWAY_S3_SSE: 'SSE-KMS', GATEWAY_S3_KMS_KEY_ARN: KEY }).s3.sse, { mode: 'SSE-KMS', kmsKeyArn: KEY });
    assert.deepEqual(
      load([...remote, '--s3-sse', 'SSE-KMS', '--s3-kms-key-arn', 'arn:aws:kms:us-east-1:123456789012:alias/tapes']).s3.sse,
      {
        mode: 'SSE-KMS',
        kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:alias/tapes',
      },
    );
  });

  it('refuses what cannot work, saying what to write', () => {
    assert.match(problem([...remote, '--s3-sse', 'SSE-KMS']).message, /must name the KMS key of SSE-KMS: add --s3-kms-key-arn/);
    assert.match(problem([...remote, '--s3-kms-key-arn', KEY]).message, /only used with SSE-KMS: add --s3-sse SSE-KMS/);
    assert.match(
      problem([...remote, '--s3-sse', 'SSE-KMS', '--s3-kms-key-arn', '1234abcd']).message,
      /must be the ARN of a KMS key or alias/,
    );
    assert.match(problem([...remote, '--s3-sse', 'aes']).message, /"none", "SSE-S3" or "SSE-KMS"/);
    assert.match(problem(['--s3-sse', 'SSE-S3']).message, /embedded S3 server does not encrypt what it stores/);
  });
});
