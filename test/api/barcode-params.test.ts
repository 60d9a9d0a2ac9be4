// Every route whose path names a barcode refuses one that is no label with 400
// INVALID_BARCODE before any service (and so S3) sees it; and the library
// service refuses it too, for callers other than the API.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/log.ts';
import type { ShelfService } from '../../src/shelf/shelf-service.ts';
import type { TapeService } from '../../src/tape/tape-service.ts';
import { StandInShelfService } from '../cli/shelf-service-stand-in.ts';
import { StandInTapeService } from './tape-service-stand-in.ts';

const TOKEN = 'barcode-params-token';

/** The service, with every method call it receives recorded. */
function recorded<T extends object>(service: T, calls: string[]): T {
  return new Proxy(service, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const ROUTES: readonly [string, string][] = [
  ['GET', '/tapes/B'],
  ['DELETE', '/tapes/B'],
  ['POST', '/tapes/B/move'],
  ['POST', '/tapes/B/import'],
  ['POST', '/tapes/B/archive'],
  ['GET', '/shelf/B'],
  ['POST', '/shelf/B/cancel-archival'],
  ['POST', '/shelf/B/retrieve'],
  ['POST', '/shelf/B/cancel-retrieval'],
  ['DELETE', '/shelf/B'],
];

describe('management API: barcodes in paths', () => {
  let api: ApiServer;
  const calls: string[] = [];

  before(async () => {
    const tapes = new StandInTapeService();
    const shelf = new StandInShelfService(tapes);
    api = await startApiServer({
      registry: new Registry(),
      logger: silentLogger(),
      tapes: recorded<TapeService>(tapes, calls),
      shelf: recorded<ShelfService>(shelf, calls),
      token: TOKEN,
    });
  });
  after(() => api.close());

  /** Through node:http, which sends the path as written: fetch would resolve ".." itself. */
  const call = (method: string, path: string) =>
    new Promise<{ status: number; json: { error: { code: string; message: string } } }>((resolve, reject) => {
      const body = method === 'POST' && path.endsWith('/move') ? JSON.stringify({ to: { kind: 'slot', index: 1 } }) : undefined;
      const { hostname, port } = new URL(api.url);
      const req = httpRequest(
        { hostname, port, path, method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  for (const [bad, why] of [
    ['..', 'two dots'],
    ['A%2FB%2FC12', 'slashes'],
    ['abc123l5', 'lower case'],
    ['A'.repeat(2000), '2,000 characters'],
    ['ABC%00123', 'a NUL'],
  ] as const) {
    it(`refuses a barcode with ${why} on every route, before the service`, async () => {
      calls.length = 0;
      for (const [method, path] of ROUTES) {
        const answer = await call(method, path.replace('/B', `/${bad}`));
        assert.equal(answer.status, 400, `${method} ${path}`);
        assert.equal(answer.json.error.code, 'INVALID_BARCODE');
        assert.match(answer.json.error.message, /type|use only A-Z/);
        assert.ok(answer.json.error.message.length < 300, 'the refusal does not repeat a long barcode');
      }
      assert.deepEqual(calls, [], 'no service was asked');
    });
  }

  it('says what to type for a lower-case barcode', async () => {
    const answer = await call('POST', '/tapes/abc123l5/import');
    assert.equal(answer.json.error.message, 'barcode "abc123l5" has lower-case letters: type ABC123L5');
  });
});
