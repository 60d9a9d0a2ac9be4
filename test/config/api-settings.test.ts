// The management API's address and TLS settings: anything but loopback needs a
// certificate and key, and a refusal says what to write instead.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, problem } from './helpers.ts';

describe('management API settings', () => {
  it('refuses an address beyond this machine without TLS, naming the flags to add', () => {
    for (const host of ['0.0.0.0', '192.0.2.10', '::']) {
      const refused = problem(['--api-host', host]);
      assert.equal(refused.path, 'api.host');
      assert.equal(refused.source, '--api-host');
      assert.match(
        refused.message,
        /lets other machines reach the management API.*--api-tls-cert and --api-tls-key.*or listen on 127\.0\.0\.1/,
      );
    }
  });

  it('takes loopback addresses without TLS', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', '::1']) assert.equal(load(['--api-host', host]).api.host, host);
  });

  it('takes a certificate and key from flags or the environment, resolved from the working directory', () => {
    const config = load(['--api-host', '0.0.0.0', '--api-tls-cert', 'tls/api.crt'], { GATEWAY_API_TLS_KEY: '/etc/tapegw/api.key' });
    assert.deepEqual(config.api.tls, { certificate: '/srv/gw/tls/api.crt', key: '/etc/tapegw/api.key' });
  });

  it('refuses a certificate without its key, and a key without its certificate', () => {
    assert.match(
      problem(['--api-tls-cert', '/etc/api.crt']).message,
      /a certificate needs its private key \(api\.tls\.key, --api-tls-key\)/,
    );
    assert.match(
      problem(['--api-tls-key', '/etc/api.key']).message,
      /a key needs its certificate \(api\.tls\.certificate, --api-tls-cert\)/,
    );
  });

  it('resolves relative paths in a config file from the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-settings-'));
    try {
      const file = join(dir, 'gateway.json');
      writeFileSync(file, JSON.stringify({ api: { host: '0.0.0.0', tls: { certificate: 'api.crt', key: 'keys/api.key' } } }));
      assert.deepEqual(load(['--config', file]).api.tls, { certificate: join(dir, 'api.crt'), key: join(dir, 'keys/api.key') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
