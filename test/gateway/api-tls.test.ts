// The management API over the network: the gateway refuses to serve it beyond
// loopback without TLS, serves HTTPS with the configured certificate and key,
// and the CLI on this machine checks the certificate's fingerprint from
// api.json before it sends the token; a client elsewhere verifies it as any
// HTTPS client does. `tapegw token rotate` replaces the token, which stays the
// same across restarts until then.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { tempDir } from '../cloud/helpers.ts';
import { GatewayExitedError, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { runTool } from '../helpers/libiscsi.ts';
import { requirePeer } from '../helpers/peers.ts';
import { assertFailure, runCli } from '../cli/run-cli.ts';

interface Published {
  url: string;
  token: string;
  certificateSha256?: string;
}

describe('@slow @peer management API over HTTPS', function () {
  this.timeout(300_000);
  let dir: string;
  let dataDir: string;
  let cert: string;
  let key: string;
  let certPem: Buffer;
  let gw: GatewayProcess | undefined;

  const published = async (): Promise<Published> => JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as Published;
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { GATEWAY_DATA_DIR: dataDir, ...env } });
  const start = () =>
    startGatewayProcess({
      dataDir,
      args: ['--drives', '1', '--volume', 'tiny=1MiB', '--api-host', '0.0.0.0', '--api-tls-cert', cert, '--api-tls-key', key],
    });
  /** GET with the certificate as the only CA, as a client elsewhere would, with its name checked. */
  const verifiedGet = (url: string, token: string) =>
    new Promise<number>((resolve, reject) => {
      httpsRequest(`${url}/library`, { ca: [certPem], headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });

  before(async function () {
    requirePeer(this, 'openssl');
    dir = await tempDir('tapegw-api-tls-');
    dataDir = join(dir, 'data');
    key = join(dir, 'api.key');
    const certPath = join(dir, 'api.crt');
    const made = await runTool('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=tapegw-test',
      '-addext',
      'subjectAltName=DNS:gateway.example,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      certPath,
    ]);
    assert.equal(made.exitCode, 0, made.stderr);
    cert = certPath;
    certPem = await readFile(cert);
  });
  after(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to serve the API beyond loopback without TLS, and says what to add', async () => {
    try {
      await startGatewayProcess({ args: ['--api-host', '0.0.0.0'] });
      assert.fail('the gateway started');
    } catch (error) {
      assert.ok(error instanceof GatewayExitedError, String(error));
      assert.equal(error.exit.code, 2);
      assert.match(
        error.stderr,
        /api\.host \(--api-host\): 0\.0\.0\.0 lets other machines reach the management API.*--api-tls-cert and --api-tls-key/,
      );
    }
  });

  it('serves HTTPS only, and the CLI reaches it through the fingerprint in api.json', async () => {
    gw = await start();
    const api = await published();
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(api.certificateSha256, new X509Certificate(await readFile(cert)).fingerprint256);
    await assert.rejects(fetch(api.url.replace('https:', 'http:') + '/health'), 'no plain HTTP');
    assert.equal(await verifiedGet(api.url, api.token), 200);

    const status = await cli(['library', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).drives.length, 1);
  });

  it('from elsewhere (--api-url), verifies the certificate as any HTTPS client', async () => {
    const { url, token } = await published();
    assertFailure(
      await cli(['library', 'status', '--api-url', url, '--token', token]),
      3,
      /no gateway answers at https:.*SELF_SIGNED_CERT|self-signed/i,
    );
    const trusted = await cli(['library', 'status', '--api-url', url, '--token', token], { NODE_EXTRA_CA_CERTS: cert });
    assert.equal(trusted.code, 0, trusted.stderr);
  });

  it('does not send the token to a server with another certificate', async () => {
    const api = await published();
    await writeFile(join(dataDir, 'api.json'), JSON.stringify({ ...api, certificateSha256: api.certificateSha256!.replace(/^../, '00') }));
    try {
      assertFailure(await cli(['library', 'status']), 3, /presented the certificate .*, not the gateway's 00:.*the token was not sent/);
    } finally {
      await writeFile(join(dataDir, 'api.json'), JSON.stringify(api));
    }
  });

  it('rotates the token: the old one is refused, the new one is published, and it stays across a restart', async () => {
    const before = await published();
    const rotated = await cli(['token', 'rotate']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(
      rotated.stdout,
      new RegExp(`token was rotated; the old one no longer works\\. The new one is in ${join(dataDir, 'api.json').replace(/[.]/g, '\\.')}`),
    );
    const after = await published();
    assert.notEqual(after.token, before.token);
    assert.ok(!rotated.stdout.includes(after.token), 'not printed when api.json holds it');
    assert.equal(await verifiedGet(after.url, before.token), 401);
    assert.equal(await verifiedGet(after.url, after.token), 200);
    assert.ok(gw!.logs.some((r) => r.msg === 'management API token rotated: the old one no longer works'));
    assert.ok(!JSON.stringify(gw!.logs).includes(after.token), 'the token is never logged');

    await gw!.stop();
    gw = await start();
    const restarted = await published();
    assert.equal(restarted.token, after.token, 'the same token after a restart');
    assert.equal((await readFile(join(dataDir, 'api-token'), 'utf8')).trim(), after.token);
  });
});
