// Volumes on the real gateway process, managed with the real tapegw: a volume
// made while the gateway runs is listed by SendTargets (libiscsi's iscsi-ls)
// and takes logins at once; a snapshot restores to a new volume; a volume
// with a logged-in initiator is deleted only when forced; per-volume CHAP.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnapshotInfo, VolumeInfo } from '../../src/volume/volume-service.ts';
import { assertFailure, runCli } from '../cli/run-cli.ts';
import { pattern } from '../cache/helpers.ts';
import { BlockClient } from '../helpers/block-client.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { parseIscsiLs, parseReadCapacity16, runTool } from '../helpers/libiscsi.ts';
import { requirePeer } from '../helpers/peers.ts';

const MiB = 1024 * 1024;

describe('@peer volumes on the running gateway, through tapegw and iSCSI', function () {
  this.timeout(240_000);
  let dataDir: string;
  let gw: GatewayProcess;
  const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], { cwd: tmpdir() });
  const json = async <T>(...args: string[]): Promise<T> => {
    const run = await cli(...args, '--json');
    assert.equal(run.code, 0, `tapegw ${args.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  };
  const targets = async () => {
    const run = await runTool('iscsi-ls', ['-s', `iscsi://${gw.portal}`]);
    assert.equal(run.exitCode, 0, run.stderr);
    return parseIscsiLs(run.stdout).map((t) => t.iqn);
  };

  before(async function () {
    requirePeer(this, 'iscsi-ls', 'iscsi-readcapacity16', 'iscsi-inq');
    dataDir = await mkdtemp(join(tmpdir(), 'volumes-gateway-'));
    gw = await startGatewayProcess({ dataDir, args: ['--drives', '1', '--volume', 'scratch=64MiB'] });
  });
  after(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves a new volume at once, snapshots it, and restores the snapshot to a new volume', async () => {
    const created = await json<VolumeInfo>('volume', 'create', 'db', '--type', 'cached', '--size', '1GiB', '--block-size', '4096');
    assert.equal(created.status, 'AVAILABLE');
    assert.equal(created.target, 'iqn.2026-11.io.tapegateway:gw1-db');
    assert.ok((await targets()).includes(created.target), 'SendTargets lists it without a restart');
    const capacity = parseReadCapacity16((await runTool('iscsi-readcapacity16', [`iscsi://${gw.portal}/${created.target}/0`])).stdout);
    assert.equal(capacity.blockSize, 4096);
    assert.equal(capacity.totalBytes, 1024 * MiB);

    const data = pattern('db', 2 * MiB);
    const client = await BlockClient.login(gw.port, created.target, { blockSize: 4096 });
    await client.write(256, data);
    await client.synchronizeCache();
    await client.logout();

    const snapshot = await cli('snapshot', 'create', 'db', '--description', 'first', '--wait', '--interval', '0.2', '--json');
    assert.equal(snapshot.code, 0, snapshot.stderr);
    const taken = JSON.parse(snapshot.stdout) as SnapshotInfo;
    assert.equal(taken.status, 'COMPLETED');
    assert.equal(taken.chunkCount, 2);
    assert.match(snapshot.stderr, /COMPLETED 100%/, 'progress on stderr');
    const listed = await json<SnapshotInfo[]>('snapshot', 'list', '--volume', 'db');
    assert.deepEqual(
      listed.map((s) => [s.id, s.description]),
      [[taken.id, 'first']],
    );

    const restored = await json<VolumeInfo>('volume', 'create', 'db-copy', '--type', 'stored', '--from-snapshot', taken.id);
    assert.equal(restored.blockSize, 4096);
    const copy = await BlockClient.login(gw.port, restored.target, { blockSize: 4096 });
    try {
      assert.ok((await copy.read(256, data.length / 4096)).equals(data), 'the restored volume holds the snapshot');
    } finally {
      await copy.logout();
    }
    const volumes = await json<VolumeInfo[]>('volume', 'list');
    assert.deepEqual(
      volumes.map((v) => [v.name, v.type]),
      [
        ['db', 'cached'],
        ['db-copy', 'stored'],
        ['scratch', 'stored'],
      ],
    );
  });

  it('refuses to delete a volume an initiator is logged in to unless forced, and then stops serving it', async () => {
    await json<VolumeInfo>('volume', 'create', 'busy', '--type', 'cached', '--size', '1GiB');
    const target = 'iqn.2026-11.io.tapegateway:gw1-busy';
    const client = await BlockClient.login(gw.port, target);
    assertFailure(
      await cli('volume', 'delete', 'busy'),
      1,
      /1 initiator session\(s\) logged in to .*gw1-busy: log them out first, or .*--force/,
    );
    assert.equal((await json<VolumeInfo>('volume', 'describe', 'busy')).sessions, 1);
    const forced = await cli('volume', 'delete', 'busy', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    for (let i = 0; i < 100 && !client.closed; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(client.closed, 'its session was closed');
    assert.ok(!(await targets()).includes(target), 'SendTargets no longer lists it');
    assertFailure(await cli('volume', 'describe', 'busy'), 1, /no volume is named "busy"/);
  });

  it('says what to type instead of a bad argument, and what is wrong with a bad request', async () => {
    // Each case is a process of its own: run them side by side.
    const cases: [string[], number, RegExp][] = [
      [
        ['volume', 'create', 'x', '--type', 'tape', '--size', '1GiB'],
        2,
        /--type "tape" is not a volume type .*: type --type cached or stored/,
      ],
      [
        ['volume', 'create', 'x', '--type', 'cached', '--size', '10GB'],
        2,
        /decimal units are not taken, volume sizes are binary: type --size 10GiB/,
      ],
      [['volume', 'create', 'x', '--type', 'cached'], 2, /add --size, e\.g\./],
      [['volume', 'create', 'x', '--size', '1GiB'], 2, /add --type cached or --type stored/],
      [
        ['volume', 'create', 'x', '--type', 'cached', '--size', '1GiB', '--block-size', '1024'],
        2,
        /type --block-size 512 or --block-size 4096/,
      ],
      [['volume', 'create', 'x', '--type', 'cached', '--size', '64TiB'], 2, /a cached volume holds 1GiB to 32TiB/],
      [['volume', 'create', 'Bad', '--type', 'cached', '--size', '1GiB'], 2, /lower-case letters/],
      [['volume', 'create', 'scratch', '--type', 'cached', '--size', '1GiB'], 1, /"scratch" exists already/],
      [['volume', 'create', 'x', '--type', 'cached', '--from-snapshot', 'snap-0000000000000000'], 1, /no snapshot has the id/],
      [['volume', 'schedule', 'scratch', '--every', '5s'], 2, /type a number of hours, minutes or days such as --every 24h/],
      [['volume', 'schedule', 'scratch', '--every', '30m'], 2, /every 3600 seconds at most often/],
      [['snapshot', 'create', 'nope'], 1, /no volume is named "nope"/],
      [['volume', 'delete', 'scratch'], 1, /comes from the configuration file/],
    ];
    for (let at = 0; at < cases.length; at += 4) {
      const batch = cases.slice(at, at + 4);
      const runs = await Promise.all(batch.map(([args]) => cli(...args)));
      runs.forEach((run, i) => assertFailure(run, batch[i]![1], batch[i]![2]));
    }
    assert.deepEqual(
      (await json<VolumeInfo[]>('volume', 'list')).map((v) => v.name).filter((n) => n === 'x' || n === 'Bad'),
      [],
      'nothing was made',
    );
    const scheduled = await json<VolumeInfo>('volume', 'schedule', 'scratch', '--every', '12h');
    assert.equal(scheduled.snapshotSchedule.everySeconds, 12 * 3600);
  });

  it('keeps a volume to its own CHAP secret and allowed initiators', async () => {
    const api = JSON.parse(await (await import('node:fs/promises')).readFile(join(dataDir, 'api.json'), 'utf8')) as {
      url: string;
      token: string;
    };
    const response = await fetch(`${api.url}/volumes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'secret',
        type: 'cached',
        sizeBytes: 1024 * MiB,
        auth: { chap: { user: 'db-host', secret: 'volume-secret-1' }, mutualChap: { user: 'gateway', secret: 'gateway-secret-2' } },
        allowedInitiators: ['iqn.2026-11.test:initiator'],
      }),
    });
    assert.equal(response.status, 201, await response.text());
    const target = 'iqn.2026-11.io.tapegateway:gw1-secret';
    await assert.rejects(BlockClient.login(gw.port, target), /login failed/);
    await assert.rejects(BlockClient.login(gw.port, target, { chap: { user: 'db-host', secret: 'wrong-secret-00' } }), /login failed/);
    const mutual = { user: 'gateway', secret: 'gateway-secret-2' };
    await assert.rejects(
      BlockClient.login(gw.port, target, {
        initiatorName: 'iqn.2026-11.test:other',
        chap: { user: 'db-host', secret: 'volume-secret-1', mutual },
      }),
      /login failed/,
    );
    const client = await BlockClient.login(gw.port, target, { chap: { user: 'db-host', secret: 'volume-secret-1', mutual } });
    await client.logout();
  });
});
