// The management API still answers while the iSCSI side is saturated: with
// the gateway's open-files limit lowered (prlimit) to a little above what it
// uses, hundreds of connections that never log in take at most the iSCSI
// connection limit's worth of descriptors, so the API, the CLI's way in, keeps
// its own; and once they go, initiators get in again. (Without the limit the
// flood takes every descriptor; whether a new API connection then fails
// depends on libuv's EMFILE handling at that instant, so the count of
// descriptors is what the test holds the gateway to.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { parseIscsiLs, runTool } from '../helpers/libiscsi.ts';
import { requirePeer } from '../helpers/peers.ts';

const LIMIT = 40;
/** Descriptors left for everything but the flood: the limit above is well inside them, the flood far beyond. */
const HEADROOM = 120;
const FLOOD = 400;

/** A GET on a new connection; a refused or reset connection rejects. */
function freshGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: 10_000, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
  });
}

describe('@slow @peer gateway under an iSCSI connection flood', function () {
  this.timeout(120_000);
  let gateway: GatewayProcess | undefined;
  const flood: Socket[] = [];

  before(function () {
    requirePeer(this, 'prlimit', 'iscsi-ls');
  });
  after(async () => {
    for (const socket of flood) socket.destroy();
    await gateway?.stop();
  });

  it('keeps answering on the management API, logs the limit, and serves initiators again afterwards', async () => {
    gateway = await startGatewayProcess({
      // A login timeout longer than the test: the connection limit alone must keep the descriptors.
      args: [
        '--drives',
        '1',
        '--volume',
        'tiny=8MiB',
        '--iscsi-connection-limit',
        String(LIMIT),
        '--iscsi-connection-limit-per-address',
        String(LIMIT),
        '--iscsi-login-timeout',
        '3600',
      ],
    });
    const open = readdirSync(`/proc/${gateway.pid}/fd`).length;
    const lowered = await runTool('prlimit', ['--pid', String(gateway.pid), `--nofile=${open + HEADROOM}:${open + HEADROOM}`]);
    assert.equal(lowered.exitCode, 0, lowered.stderr);

    // From eight source addresses, so that the total limit is the one reached.
    await Promise.all(
      Array.from(
        { length: FLOOD },
        (_, i) =>
          new Promise<void>((resolve) => {
            const socket = connect({ host: '127.0.0.1', port: gateway!.port, localAddress: `127.0.0.${2 + (i % 8)}` });
            socket.on('error', () => resolve());
            socket.once('connect', () => resolve());
            flood.push(socket);
          }),
      ),
    );
    const reached = () => gateway!.logs.some((r) => r.level === 40 && /iSCSI connection limit reached/.test(r.msg));
    for (let i = 0; i < 500 && !reached(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(reached(), 'the gateway logs that the limit is reached');
    const held = readdirSync(`/proc/${gateway.pid}/fd`).length - open;
    assert.ok(held <= LIMIT + 10, `the flood holds ${held} descriptors of the gateway, more than the connection limit of ${LIMIT}`);

    // Each request on a connection of its own, as the CLI makes them: a kept-alive one would prove nothing.
    const { url, token } = JSON.parse(readFileSync(join(gateway.dataDir, 'api.json'), 'utf8')) as { url: string; token: string };
    for (let i = 0; i < 5; i++) assert.equal((await freshGet(`${url}/health`)).status, 200);
    const library = await freshGet(`${url}/library`, token);
    assert.equal(library.status, 200);
    assert.equal((JSON.parse(library.body) as { drives: unknown[] }).drives.length, 1);

    for (const socket of flood.splice(0)) socket.destroy();
    const back = () => gateway!.logs.some((r) => /iSCSI connections are accepted again/.test(r.msg));
    for (let i = 0; i < 500 && !back(); i++) await new Promise((r) => setTimeout(r, 20));
    const listed = await runTool('iscsi-ls', ['-s', `iscsi://${gateway.portal}`]);
    assert.equal(listed.exitCode, 0, listed.stderr);
    assert.ok(
      parseIscsiLs(listed.stdout).some((t) => t.iqn.endsWith(':gw1-tiny')),
      listed.stdout,
    );
  });
});
