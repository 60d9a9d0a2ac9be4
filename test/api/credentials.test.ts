import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bearerMatches,
  credentialsPath,
  newApiToken,
  readApiCredentials,
  removeApiCredentials,
  writeApiCredentials,
} from '../../src/api/credentials.ts';

describe('management API credentials', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'api-credentials-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('publishes URL and token in <dataDir>/api.json readable by the owner only, and removes them', async () => {
    assert.equal(await readApiCredentials(dir), undefined);
    const credentials = { url: 'http://127.0.0.1:4567', token: newApiToken() };
    await writeApiCredentials(dir, credentials);
    assert.equal(credentialsPath(dir), join(dir, 'api.json'));
    assert.equal((await stat(credentialsPath(dir))).mode & 0o777, 0o600);
    assert.deepEqual(await readApiCredentials(dir), credentials);
    await removeApiCredentials(dir);
    assert.equal(await readApiCredentials(dir), undefined);
  });

  it('says a damaged file is damaged and how to mend it', async () => {
    await writeFile(credentialsPath(dir), '{"url": 1}');
    await assert.rejects(readApiCredentials(dir), /api\.json is damaged .*restart the gateway/);
  });

  it('makes tokens that differ and match only themselves as bearer tokens', () => {
    const token = newApiToken();
    assert.notEqual(token, newApiToken());
    assert.ok(token.length >= 40);
    assert.ok(bearerMatches(`Bearer ${token}`, token));
    assert.ok(bearerMatches(`bearer ${token}`, token));
    assert.ok(!bearerMatches(`Bearer ${token}x`, token));
    assert.ok(!bearerMatches(token, token));
    assert.ok(!bearerMatches(undefined, token));
  });
});
