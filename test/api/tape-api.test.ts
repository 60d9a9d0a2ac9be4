import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { newApiToken } from '../../src/api/credentials.ts';
import { silentLogger } from '../../src/log.ts';
import type { PoolInfo, TapeInfo } from '../../src/tape/tape-service.ts';
import { StandInTapeService } from './tape-service-stand-in.ts';

const GiB = 2 ** 30;

describe('management API: tape routes over HTTP', () => {
  let api: ApiServer;
  let service: StandInTapeService;
  let token: string;
  const logLines: string[] = [];

  beforeEach(async () => {
    service = new StandInTapeService();
    token = newApiToken();
    logLines.length = 0;
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) }));
    api = await startApiServer({ registry: new Registry(), logger, tapes: service, token });
  });
  afterEach(() => api.close());

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
  };

  it('answers /health and /metrics without a token, and everything else only with the right one', async () => {
    assert.equal((await fetch(`${api.url}/health`)).status, 200);
    assert.equal((await fetch(`${api.url}/metrics`)).status, 200);
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, token]) {
      const res = await fetch(`${api.url}/tapes`, authorization ? { headers: { authorization } } : {});
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const body = await res.json();
      assert.equal(body.error.code, 'UNAUTHORIZED');
      assert.match(body.error.message, /Authorization: Bearer TOKEN.*api\.json/);
    }
    assert.equal((await call('GET', '/tapes')).status, 200);
  });

  it('creates tapes by count and prefix or by barcode, lists and describes them', async () => {
    const many = await call('POST', '/tapes', { count: 3, barcodePrefix: 'ABC', sizeBytes: 100 * GiB, pool: 'DEEP_ARCHIVE' });
    assert.equal(many.status, 201);
    assert.deepEqual(
      many.json.tapes.map((t: TapeInfo) => t.barcode),
      ['ABC001', 'ABC002', 'ABC003'],
    );
    const one = await call('POST', '/tapes', { barcode: 'XYZ123L5', sizeBytes: 200 * GiB, worm: true });
    assert.equal(one.status, 201);
    assert.equal(one.json.tapes[0].worm, true);

    const list = await call('GET', '/tapes');
    assert.deepEqual(
      list.json.tapes.map((t: TapeInfo) => [t.barcode, t.pool]),
      [
        ['ABC001', 'DEEP_ARCHIVE'],
        ['ABC002', 'DEEP_ARCHIVE'],
        ['ABC003', 'DEEP_ARCHIVE'],
        ['XYZ123L5', 'GLACIER'],
      ],
    );
    const described = await call('GET', '/tapes/XYZ123L5');
    assert.equal(described.status, 200);
    assert.equal(described.json.sizeBytes, 200 * GiB);
    assert.equal(described.json.status, 'AVAILABLE');
  });

  it("keeps the service's refusals: code, message, and 400, 404 or 409", async () => {
    const invalid = await call('POST', '/tapes', { barcode: 'abc123', sizeBytes: 100 * GiB });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.code, 'INVALID_BARCODE');
    assert.match(invalid.json.error.message, /type ABC123/);

    await call('POST', '/tapes', { barcode: 'DUP001', sizeBytes: 100 * GiB });
    const duplicate = await call('POST', '/tapes', { barcode: 'DUP001', sizeBytes: 100 * GiB });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.json.error.code, 'DUPLICATE_BARCODE');

    const missing = await call('GET', '/tapes/NOPE01');
    assert.deepEqual([missing.status, missing.json.error.code], [404, 'TAPE_NOT_FOUND']);

    const size = await call('POST', '/tapes', { count: 1, barcodePrefix: 'S', sizeBytes: 1 });
    assert.deepEqual([size.status, size.json.error.code], [400, 'INVALID_SIZE']);
  });

  it('moves a tape, refuses to delete it while it is in a drive, deletes it from a slot', async () => {
    await call('POST', '/tapes', { barcode: 'MOV001', sizeBytes: 100 * GiB });
    const moved = await call('POST', '/tapes/MOV001/move', { to: { kind: 'drive', index: 2 } });
    assert.equal(moved.status, 200);
    assert.deepEqual([moved.json.status, moved.json.location.kind, moved.json.location.index], ['IN_DRIVE', 'drive', 2]);

    const refused = await call('DELETE', '/tapes/MOV001');
    assert.deepEqual([refused.status, refused.json.error.code], [409, 'TAPE_IN_DRIVE']);

    const library = await call('GET', '/library');
    assert.equal(library.json.drives[1].barcode, 'MOV001');
    assert.equal(library.json.tapes, 1);

    const nowhere = await call('POST', '/tapes/MOV001/move', { to: { kind: 'slot', index: 999 } });
    assert.deepEqual([nowhere.status, nowhere.json.error.code], [404, 'ELEMENT_NOT_FOUND']);

    assert.equal((await call('POST', '/tapes/MOV001/move', { to: { kind: 'slot', index: 5 } })).status, 200);
    const deleted = await call('DELETE', '/tapes/MOV001');
    assert.equal(deleted.status, 204);
    assert.equal(deleted.json, undefined);
    assert.equal((await call('GET', '/tapes/MOV001')).status, 404);
  });

  it('refuses malformed bodies with 400 and a message naming the field and a good body', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /no body: send a JSON object such as .*"barcodePrefix"/],
      ['{"count": 3,', /not JSON/],
      [{ count: 3, barcodePrefix: 'ABC' }, /sizeBytes: must be the size in bytes as a number, e\.g\. 107374182400/],
      [{ count: 3, barcodePrefix: 'ABC', size: '100GiB', sizeBytes: 100 * GiB }, /unknown field "size"; send e\.g\. \{"count":10/],
      [{ count: 2.5, barcodePrefix: 'ABC', sizeBytes: 100 * GiB }, /count: must be a whole number/],
      [{ barcode: 'ABC123', sizeBytes: '100GiB' }, /sizeBytes: must be the size in bytes/],
      [{ barcode: 'ABC123', sizeBytes: 100 * GiB, worm: 'yes' }, /worm: must be true or false/],
      [[1, 2], /send e\.g\./],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', '/tapes', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.json.error.message, message);
    }
    await call('POST', '/tapes', { barcode: 'MOV001', sizeBytes: 100 * GiB });
    const move = await call('POST', '/tapes/MOV001/move', { to: { kind: 'shelf', index: 0 } });
    assert.equal(move.status, 400);
    assert.match(
      move.json.error.message,
      /to\.kind: must be "slot", "drive" or "import-export"; to\.index: counts from 1; send e\.g\. \{"to":\{"kind":"drive","index":1\}\}/,
    );
    assert.deepEqual(await service.listTapes().then((t) => t.map((x) => x.location.kind)), ['slot']);
  });

  it('creates, lists, describes and deletes pools; refuses built-in and used ones', async () => {
    const created = await call('POST', '/pools', {
      name: 'finance-7y',
      destination: { kind: 'vault', vault: 'finance' },
      retention: { mode: 'COMPLIANCE', days: 2555 },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(
      [created.json.name, created.json.destination, created.json.retention, created.json.builtIn],
      ['finance-7y', { kind: 'vault', vault: 'finance' }, { mode: 'COMPLIANCE', days: 2555 }, false],
    );
    const cold = await call('POST', '/pools', { name: 'cold', destination: { kind: 'storage-class', storageClass: 'DEEP_ARCHIVE' } });
    assert.deepEqual([cold.status, cold.json.retention], [201, { mode: 'NONE', days: 0 }]);

    const list = await call('GET', '/pools');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.pools.map((p: PoolInfo) => [p.name, p.builtIn]),
      [
        ['GLACIER', true],
        ['DEEP_ARCHIVE', true],
        ['finance-7y', false],
        ['cold', false],
      ],
    );
    assert.deepEqual((await call('GET', '/pools/finance-7y')).json, created.json);
    const missing = await call('GET', '/pools/nope');
    assert.deepEqual([missing.status, missing.json.error.code], [404, 'POOL_NOT_FOUND']);
    assert.match(missing.json.error.message, /choose one of GLACIER, DEEP_ARCHIVE, finance-7y, cold/);

    const duplicate = await call('POST', '/pools', { name: 'cold', destination: { kind: 'vault', vault: 'x' } });
    assert.deepEqual([duplicate.status, duplicate.json.error.code], [409, 'DUPLICATE_POOL']);
    const badName = await call('POST', '/pools', { name: 'has space', destination: { kind: 'vault', vault: 'x' } });
    assert.deepEqual([badName.status, badName.json.error.code], [400, 'INVALID_POOL']);

    await call('POST', '/tapes', { barcode: 'FIN001', sizeBytes: 100 * GiB, pool: 'cold' });
    const inUse = await call('DELETE', '/pools/cold');
    assert.deepEqual([inUse.status, inUse.json.error.code], [409, 'POOL_IN_USE']);
    const builtIn = await call('DELETE', '/pools/GLACIER');
    assert.deepEqual([builtIn.status, builtIn.json.error.code], [400, 'INVALID_POOL']);
    const deleted = await call('DELETE', '/pools/finance-7y');
    assert.deepEqual([deleted.status, deleted.json], [204, undefined]);
    assert.equal((await call('GET', '/pools/finance-7y')).status, 404);
  });

  it('refuses a tape in an unknown pool with 404 and the pools there are', async () => {
    const res = await call('POST', '/tapes', { count: 2, barcodePrefix: 'ABC', sizeBytes: 100 * GiB, pool: 'weekly' });
    assert.deepEqual([res.status, res.json.error.code], [404, 'POOL_NOT_FOUND']);
    assert.match(
      res.json.error.message,
      /there is no pool weekly: choose one of GLACIER, DEEP_ARCHIVE, or create it with "tapegw pool create"/,
    );
    assert.deepEqual(await service.listTapes(), []);
  });

  it('holds a locked tape: 409 RETENTION_LOCKED, a GOVERNANCE lock bypassed on request, COMPLIANCE never', async () => {
    await call('POST', '/pools', { name: 'gov', destination: { kind: 'vault', vault: 'g' }, retention: { mode: 'GOVERNANCE', days: 30 } });
    await call('POST', '/pools', { name: 'comp', destination: { kind: 'vault', vault: 'c' }, retention: { mode: 'COMPLIANCE', days: 30 } });
    const gov = await call('POST', '/tapes', { barcode: 'GOV001', sizeBytes: 100 * GiB, pool: 'gov' });
    assert.equal(Date.parse(gov.json.tapes[0].retentionUntil), Date.parse(gov.json.tapes[0].createdAt) + 30 * 86_400_000);
    await call('POST', '/tapes', { barcode: 'CMP001', sizeBytes: 100 * GiB, pool: 'comp' });

    for (const body of [undefined, { bypassGovernanceRetention: false }, {}]) {
      const refused = await call('DELETE', '/tapes/GOV001', body);
      assert.deepEqual([refused.status, refused.json.error.code], [409, 'RETENTION_LOCKED'], JSON.stringify(body));
      assert.match(
        refused.json.error.message,
        /GOVERNANCE retention lock keeps it until .*: wait, or delete with --bypass-governance-retention/,
      );
    }
    assert.equal((await call('DELETE', '/tapes/GOV001', { bypassGovernanceRetention: true })).status, 204);
    assert.equal((await call('GET', '/tapes/GOV001')).status, 404);

    const compliance = await call('DELETE', '/tapes/CMP001', { bypassGovernanceRetention: true });
    assert.deepEqual([compliance.status, compliance.json.error.code], [409, 'RETENTION_LOCKED']);
    assert.match(compliance.json.error.message, /COMPLIANCE retention lock .*nobody can delete it before then/);
    assert.equal((await call('GET', '/tapes/CMP001')).status, 200);
  });

  it('refuses malformed pool and delete bodies with 400 and what to send', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /no body: send a JSON object such as \{"name":"finance-7y","destination":\{"kind":"vault"/],
      [{ name: 'p' }, /destination: must be \{"kind":"vault","vault":"NAME"\} or \{"kind":"storage-class","storageClass":"GLACIER"\}/],
      [{ name: 'p', destination: { kind: 'tape' } }, /destination\.kind: must be \{"kind":"vault"/],
      [
        { name: 'p', destination: { kind: 'storage-class', storageClass: 'STANDARD' } },
        /destination\.storageClass: must be "GLACIER" or "DEEP_ARCHIVE"/,
      ],
      [
        { name: 'p', destination: { kind: 'vault', vault: 'v' }, retention: { mode: 'FOREVER', days: 1 } },
        /retention\.mode: must be "NONE", "GOVERNANCE" or "COMPLIANCE"/,
      ],
      [
        { name: 'p', destination: { kind: 'vault', vault: 'v' }, retention: { mode: 'GOVERNANCE', days: '7y' } },
        /retention\.days: must be a number of days, e\.g\. 2555/,
      ],
      [
        { name: 'p', destination: { kind: 'vault', vault: 'v' }, retention: 30 },
        /retention: must be an object such as \{"mode":"GOVERNANCE","days":2555\}/,
      ],
      [{ name: 7, destination: { kind: 'vault', vault: 'v' } }, /name: must be a string such as "finance-7y"/],
      [{ name: 'p', destination: { kind: 'vault', vault: 'v' }, lock: 'GOVERNANCE' }, /unknown field "lock"/],
    ];
    for (const [body, message] of cases) {
      const res = await call('POST', '/pools', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.code, 'INVALID_REQUEST');
      assert.match(res.json.error.message, message);
    }
    const retention = await call('POST', '/pools', {
      name: 'p',
      destination: { kind: 'vault', vault: 'v' },
      retention: { mode: 'GOVERNANCE', days: 40_000 },
    });
    assert.deepEqual([retention.status, retention.json.error.code], [400, 'INVALID_POOL']);
    assert.match(retention.json.error.message, /from 0 to 36500/);
    assert.deepEqual(
      (await service.listPools()).map((p) => p.name),
      ['GLACIER', 'DEEP_ARCHIVE'],
    );

    await call('POST', '/tapes', { barcode: 'DEL001', sizeBytes: 100 * GiB });
    for (const [body, message] of [
      [
        { bypassGovernanceRetention: 'yes' },
        /bypassGovernanceRetention: must be true or false; send e\.g\. \{"bypassGovernanceRetention":true\}, or no body/,
      ],
      [{ bypass: true }, /unknown field "bypass"/],
    ] as const) {
      const res = await call('DELETE', '/tapes/DEL001', body);
      assert.equal(res.status, 400);
      assert.match(res.json.error.message, message);
    }
    assert.equal((await call('GET', '/tapes/DEL001')).status, 200);
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const res = await call('POST', '/tapes', JSON.stringify({ barcode: 'ABC123', pad: 'x'.repeat(100_000) }));
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'BODY_TOO_LARGE');
    // Without a Content-Length (chunked), the limit applies while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${api.url}/tapes`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(10_000));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal((await call('GET', '/tapes')).status, 200);
  });

  it('answers unknown paths 404, wrong methods 405, bad percent-encoding 400', async () => {
    const unknown = await call('GET', '/tape');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error.message, /GET \/tapes\/:barcode/);
    const method = await call('PUT', '/tapes/ABC123');
    assert.equal(method.status, 405);
    assert.match(method.json.error.message, /\/tapes\/ABC123 takes GET or DELETE, not PUT/);
    assert.equal((await call('GET', '/tapes/%E0%A4%A')).status, 400);
  });

  it('answers 500 and logs when the service fails unexpectedly, then keeps serving', async () => {
    service.listTapes = async () => {
      throw new Error('catalog exploded');
    };
    const res = await call('GET', '/tapes');
    assert.equal(res.status, 500);
    assert.deepEqual(res.json.error, { code: 'INTERNAL', message: "the gateway failed to answer; see the gateway's log" });
    assert.ok(logLines.some((line) => line.includes('catalog exploded')));
    assert.equal((await call('GET', '/library')).status, 200);
  });

  it('logs operator changes', async () => {
    await call('POST', '/tapes', { barcode: 'LOG001', sizeBytes: 100 * GiB });
    await call('DELETE', '/tapes/LOG001');
    const records = logLines.map((line) => JSON.parse(line)).filter((r) => r.msg === 'management request');
    assert.deepEqual(
      records.map((r) => [r.method, r.path, r.status]),
      [
        ['POST', '/tapes', 201],
        ['DELETE', '/tapes/LOG001', 204],
      ],
    );
  });
});

describe('management API without a tape service', () => {
  it('serves only /metrics and /health', async () => {
    const api = await startApiServer({ registry: new Registry(), logger: silentLogger() });
    try {
      assert.equal((await fetch(`${api.url}/health`)).status, 200);
      const res = await fetch(`${api.url}/tapes`, { headers: { authorization: 'Bearer x' } });
      assert.equal(res.status, 404);
      assert.match((await res.json()).error.message, /only GET \/metrics and GET \/health/);
    } finally {
      await api.close();
    }
  });
});
