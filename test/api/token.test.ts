// The management API's token: kept in <dataDir>/api-token (the owner's only)
// across restarts, and rotated by POST /token/rotate: the old token stops
// working at once and the new one is kept.
import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ApiToken, TOKEN_FILE } from '../../src/api/credentials.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';
import { tempDir } from '../cloud/helpers.ts';
import { StandInTapeService } from './tape-service-stand-in.ts';

describe('management API token', () => {
  let dir: string;
  let api: ApiServer | undefined;

  beforeEach(async () => {
    dir = await tempDir('api-token-');
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const get = (token: string) => fetch(`${api!.url}/tapes`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  it('is made on the first start, readable by its owner only, and the same at the next', async () => {
    const first = await ApiToken.open(dir);
    const file = join(dir, TOKEN_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await readFile(file, 'utf8')).trim(), first.current());
    assert.equal((await ApiToken.open(dir)).current(), first.current());
  });

  it('replaces a damaged token file with a new token', async () => {
    await writeFile(join(dir, TOKEN_FILE), 'short\n');
    const token = await ApiToken.open(dir);
    assert.match(token.current(), /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await readFile(join(dir, TOKEN_FILE), 'utf8')).trim(), token.current());
  });

  it('rotates: the old token is refused at once, the new one works and is kept', async () => {
    const token = await ApiToken.open(dir);
    const old = token.current();
    api = await startApiServer({ registry: new Registry(), logger: silentLogger(), tapes: new StandInTapeService(), token });
    assert.equal(await get(old), 200);

    const answer = await fetch(`${api.url}/token/rotate`, { method: 'POST', headers: { authorization: `Bearer ${old}` } });
    assert.equal(answer.status, 200);
    const { token: fresh } = (await answer.json()) as { token: string };
    assert.notEqual(fresh, old);
    assert.equal(await get(old), 401);
    assert.equal(await get(fresh), 200);
    assert.equal((await ApiToken.open(dir)).current(), fresh, 'kept for the next start');

    const refused = await fetch(`${api.url}/token/rotate`, { method: 'POST', headers: { authorization: `Bearer ${old}` } });
    assert.equal(refused.status, 401, 'only the holder of the current token rotates it');
  });
});
