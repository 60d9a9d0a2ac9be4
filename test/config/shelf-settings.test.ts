// The Glacier and vault shelf settings: defaults that make the embedded set-up
// usable, and refusals that say what to write instead.
import assert from 'node:assert/strict';
import { load, problem } from './helpers.ts';
import { builtInPoolDestinations } from '../../src/gateway/shelf.ts';

describe('Glacier and shelf settings', () => {
  it('default to the embedded Glacier endpoint with jobs of seconds, and vaults named after the gateway', () => {
    const config = load(['--name', 'site-a']);
    assert.equal(config.glacier.embedded, true);
    assert.deepEqual(config.glacier.jobDelays, { Expedited: 1, Standard: 5, Bulk: 10, inventory: 5 });
    assert.equal(config.shelf.retrievalTier, 'Standard');
    assert.deepEqual(builtInPoolDestinations(config.shelf, config.glacier, config.gatewayName), {
      GLACIER: { kind: 'vault', vault: 'site-a-glacier' },
      DEEP_ARCHIVE: { kind: 'vault', vault: 'site-a-deep-archive' },
    });
  });

  it('take AWS, vaults, a tier, job delays and credentials from flags and the environment', () => {
    const config = load(
      [
        '--glacier-endpoint',
        'aws',
        '--glacier-region',
        'eu-west-1',
        '--glacier-vault',
        'tapes',
        '--retrieval-tier',
        'Bulk',
        '--glacier-job-delays',
        '2',
      ],
      {
        GATEWAY_GLACIER_ACCESS_KEY_ID: 'AKID',
        GATEWAY_GLACIER_SECRET_ACCESS_KEY: 'secret',
        GATEWAY_SHELF_DEEP_ARCHIVE_VAULT: 'deep-tapes',
      },
    );
    assert.equal(config.glacier.embedded, false);
    assert.equal(config.glacier.region, 'eu-west-1');
    assert.deepEqual(config.glacier.credentials, { accessKeyId: 'AKID', secretAccessKey: 'secret' });
    assert.deepEqual(config.glacier.jobDelays, { Expedited: 2, Standard: 2, Bulk: 2, inventory: 2 });
    assert.equal(config.shelf.retrievalTier, 'Bulk');
    assert.deepEqual(builtInPoolDestinations(config.shelf, config.glacier, config.gatewayName), {
      GLACIER: { kind: 'vault', vault: 'tapes' },
      DEEP_ARCHIVE: { kind: 'vault', vault: 'deep-tapes' },
    });
  });

  it('on AWS, archive the built-in pools to the S3 storage classes unless a vault is named for them', () => {
    const aws = load(['--glacier-endpoint', 'aws']);
    assert.deepEqual(builtInPoolDestinations(aws.shelf, aws.glacier, aws.gatewayName), {
      GLACIER: { kind: 'storage-class', storageClass: 'GLACIER' },
      DEEP_ARCHIVE: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' },
    });
    const oneVault = load(['--glacier-endpoint', 'aws', '--glacier-vault', 'old-tapes']);
    assert.deepEqual(builtInPoolDestinations(oneVault.shelf, oneVault.glacier, oneVault.gatewayName), {
      GLACIER: { kind: 'vault', vault: 'old-tapes' },
      DEEP_ARCHIVE: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' },
    });
    const byUrl = load(['--glacier-endpoint', 'https://glacier.example.com']);
    assert.deepEqual(builtInPoolDestinations(byUrl.shelf, byUrl.glacier, byUrl.gatewayName), {
      GLACIER: { kind: 'vault', vault: 'gw1-glacier' },
      DEEP_ARCHIVE: { kind: 'vault', vault: 'gw1-deep-archive' },
    });
  });

  it('refuse what is not a setting and say what to write', () => {
    assert.match(problem(['--glacier-job-delays', 'fast']).message, /Expedited=1,Standard=5,Bulk=10/);
    assert.match(problem(['--glacier-endpoint', 'glacier.example']).message, /"embedded", "aws" or a URL/);
    assert.match(problem(['--retrieval-tier', 'Fast']).message, /"Expedited", "Standard" or "Bulk"/);
    assert.match(problem(['--glacier-vault', 'my vault']).message, /vault name/);
    assert.match(
      problem([], { GATEWAY_GLACIER_ACCESS_KEY_ID: 'a', GATEWAY_GLACIER_SECRET_ACCESS_KEY: 'b' }).message,
      /embedded Glacier endpoint has its own credentials/,
    );
  });
});
