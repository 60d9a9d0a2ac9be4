// What a user sees when pointing libiscsi's tools (Debian libiscsi-bin) at the running gateway:
// discovery with iscsi-ls, identity with iscsi-inq, size with iscsi-readcapacity16, and CHAP.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { parseDesignators, parseInqFields, parseIscsiLs, parseReadCapacity16, runTool, type ToolRun } from '../helpers/libiscsi.ts';
import { requirePeer } from '../helpers/peers.ts';

const IQN_PREFIX = 'iqn.2026-11.io.tapegateway';
const GATEWAY_NAME = 'gw1';
const VOLUMES = [
  { name: 'disk', size: 64 * 1024 * 1024 },
  { name: 'small', size: 8 * 1024 * 1024 },
] as const;
const DRIVES = 2;
const gatewayFlags = [...VOLUMES.flatMap((v) => ['--volume', `${v.name}=${v.size}`]), '--drives', String(DRIVES)];
const targetOf = (unit: string) => `${IQN_PREFIX}:${GATEWAY_NAME}-${unit}`;
const driveNames = Array.from({ length: DRIVES }, (_, i) => `tapedrive-${String(i + 1).padStart(2, '0')}`);

/** iscsi-ls prints block length × LAST LBA (one block short), divided by 1024 while above 1024. */
function iscsiLsSize(bytes: number, blockSize = 512): string {
  let size = blockSize * (bytes / blockSize - 1);
  let unit = 0;
  while (unit < 4 && size > 1024) {
    size = Math.floor(size / 1024);
    unit++;
  }
  return `${size}${' KMGT'[unit]}`;
}

function ok(run: ToolRun, what: string): string {
  assert.equal(run.exitCode, 0, `${what} exited ${run.exitCode}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

function one(fields: Map<string, string[]>, key: string): string {
  const values = fields.get(key);
  assert.ok(values && values.length === 1, `expected one "${key}:" line, got ${JSON.stringify(values)}`);
  return values[0]!;
}

async function inq(url: string, page?: number): Promise<string> {
  const args = page === undefined ? [url] : ['-e', '1', '-c', String(page), url];
  return ok(await runTool('iscsi-inq', args), `iscsi-inq ${args.join(' ')}`);
}

describe('@peer libiscsi tools against the gateway', function () {
  this.timeout(60_000);

  describe('without CHAP', () => {
    let dataDir: string;
    let gateway: GatewayProcess | undefined;
    const url = (volume: string) => `iscsi://${gateway!.portal}/${targetOf(volume)}/0`;

    before(async function () {
      requirePeer(this, 'iscsi-ls', 'iscsi-inq', 'iscsi-readcapacity16');
      dataDir = await mkdtemp(join(tmpdir(), 'libiscsi-tools-'));
      gateway = await startGatewayProcess({ dataDir, args: gatewayFlags });
    });

    after(async () => {
      await gateway?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('iscsi-ls -s discovers a target per volume with its disk and size, the changer, and each empty drive', async () => {
      const stdout = ok(await runTool('iscsi-ls', ['-s', `iscsi://${gateway!.portal}`]), 'iscsi-ls -s');
      const listed = parseIscsiLs(stdout).sort((a, b) => a.iqn.localeCompare(b.iqn));
      const portal = `${gateway!.portal},1`;
      const expected = [
        ...VOLUMES.map((v) => ({ iqn: targetOf(v.name), portal, luns: [{ lun: 0, type: 'DIRECT_ACCESS', size: iscsiLsSize(v.size) }] })),
        { iqn: targetOf('mediachanger'), portal, luns: [{ lun: 0, type: 'MEDIA_CHANGER' }] },
        ...driveNames.map((d) => ({ iqn: targetOf(d), portal, luns: [{ lun: 0, type: 'SEQUENTIAL_ACCESS', noMedia: true as const }] })),
      ].sort((a, b) => a.iqn.localeCompare(b.iqn));
      assert.deepEqual(listed, expected, stdout);
    });

    it('iscsi-inq shows a direct-access disk from the gateway: vendor, product, revision, SPC-4 and SBC-3', async () => {
      const fields = parseInqFields(await inq(url('disk')));
      assert.equal(one(fields, 'Peripheral Qualifier'), 'CONNECTED');
      assert.equal(one(fields, 'Peripheral Device Type'), 'DIRECT_ACCESS');
      assert.equal(one(fields, 'Removable'), '0');
      assert.equal(one(fields, 'Vendor'), 'TAPEGW  ');
      assert.equal(one(fields, 'Product'), 'Volume'.padEnd(16));
      assert.equal(one(fields, 'Revision'), '0100');
      assert.equal(one(fields, 'CmdQue'), '1');
      const descriptors = fields.get('Version Descriptor') ?? [];
      for (const d of ['0460 SPC-4', '0960 iSCSI', '04c0 SBC-3'])
        assert.ok(descriptors.includes(d), `no version descriptor ${d}: ${descriptors.join(', ')}`);
    });

    it('iscsi-inq lists the supported VPD pages in ascending order, 00h, 80h, 83h, B0h, B1h and B2h among them', async () => {
      const pages = [...(await inq(url('disk'), 0x00)).matchAll(/^Page:0x([0-9a-f]{2})/gm)].map((m) => parseInt(m[1]!, 16));
      for (const page of [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2])
        assert.ok(pages.includes(page), `VPD ${page.toString(16)}h missing from ${pages.join(',')}`);
      assert.deepEqual(
        pages,
        [...pages].sort((a, b) => a - b),
      );
    });

    it('VPD 80h gives each volume its own unit serial number, and 83h names the LU, the target and the port', async () => {
      const serial = (stdout: string) => /^Unit Serial Number:\[(.*)\]$/m.exec(stdout)?.[1];
      const disk = serial(await inq(url('disk'), 0x80));
      const small = serial(await inq(url('small'), 0x80));
      assert.match(disk ?? '', /^\S+$/, 'disk: no unit serial number');
      assert.match(small ?? '', /^\S+$/, 'small: no unit serial number');
      assert.notEqual(disk, small);

      const designators = parseDesignators(await inq(url('disk'), 0x83));
      const find = (association: string, type: string) => designators.filter((d) => d.association === association && d.type === type);
      assert.equal(find('LOGICAL_UNIT', 'NAA').length, 1, 'one NAA designator for the logical unit');
      assert.deepEqual(
        find('LOGICAL_UNIT', 'T10_VENDORT_ID').map((d) => d.value),
        [`TAPEGW  ${disk}`],
      );
      assert.deepEqual(
        find('TARGET_DEVICE', 'SCSI_NAME_STRING').map((d) => d.value),
        [targetOf('disk')],
      );
      assert.deepEqual(
        find('TARGET_PORT', 'SCSI_NAME_STRING').map((d) => d.value),
        [`${targetOf('disk')},t,0x0001`],
      );
      assert.equal(find('TARGET_PORT', 'RELATIVE_TARGET_PORT').length, 1, 'a relative target port designator');
    });

    it('VPD B0h, B2h and READ CAPACITY(16) agree: a thin-provisioned disk that unmaps and writes same', async () => {
      const limits = parseInqFields(await inq(url('disk'), 0xb0));
      const number = (key: string) => Number(one(limits, key));
      assert.ok(number('maximum transfer length') > 0, 'a maximum transfer length');
      assert.ok(number('optimal transfer length') <= number('maximum transfer length'));
      assert.ok(number('maximum unmap lba count') > 0, 'UNMAP supported, so a maximum UNMAP LBA count');
      assert.ok(number('maximum unmap block descriptor count') > 0);
      assert.ok(number('maximum compare and write length') > 0);
      assert.equal(one(limits, 'wsnz'), '0');

      const provisioning = parseInqFields(await inq(url('disk'), 0xb2));
      assert.equal(one(provisioning, 'lbpu'), '1');
      assert.equal(one(provisioning, 'lbpws'), '1');
      assert.equal(one(provisioning, 'lbpws10'), '1');
      assert.equal(one(provisioning, 'provisioning type'), '2', 'thin provisioned');

      const rc16 = ok(await runTool('iscsi-readcapacity16', [url('disk')]), 'iscsi-readcapacity16');
      assert.match(rc16, /^LBPME:1 LBPRZ:1$/m);
    });

    it('iscsi-readcapacity16 reports each volume at its configured size in 512-byte blocks', async () => {
      for (const volume of VOLUMES) {
        const stdout = ok(await runTool('iscsi-readcapacity16', [url(volume.name)]), `iscsi-readcapacity16 ${volume.name}`);
        assert.deepEqual(parseReadCapacity16(stdout), { blockSize: 512, lastLba: volume.size / 512 - 1, totalBytes: volume.size });
      }
    });

    it('keeps the unit serial number and the designators across a restart on the same data directory', async () => {
      const before80 = await inq(url('disk'), 0x80);
      const before83 = await inq(url('disk'), 0x83);
      await gateway!.stop();
      gateway = undefined;
      gateway = await startGatewayProcess({ dataDir, args: gatewayFlags });
      assert.equal(await inq(url('disk'), 0x80), before80);
      assert.equal(await inq(url('disk'), 0x83), before83);
    });
  });

  describe('with CHAP on discovery and on the targets', () => {
    const user = 'backup';
    const secret = 'tapegw-secret1';
    let gateway: GatewayProcess | undefined;
    const portalUrl = (credentials: string) => `iscsi://${credentials}${gateway!.portal}`;

    before(async function () {
      requirePeer(this, 'iscsi-ls', 'iscsi-inq');
      gateway = await startGatewayProcess({
        args: gatewayFlags,
        env: {
          GATEWAY_CHAP_USER: user,
          GATEWAY_CHAP_SECRET: secret,
          GATEWAY_DISCOVERY_CHAP_USER: user,
          GATEWAY_DISCOVERY_CHAP_SECRET: secret,
        },
      });
    });

    after(async () => {
      await gateway?.stop();
    });

    it('iscsi-ls -s with the right name and secret lists every target and its LUN', async () => {
      const stdout = ok(await runTool('iscsi-ls', ['-s', portalUrl(`${user}%${secret}@`)]), 'iscsi-ls -s with CHAP');
      const listed = parseIscsiLs(stdout);
      assert.deepEqual(
        listed.map((t) => [t.iqn, t.luns.map((l) => `${l.lun} ${l.type}`)]).sort(),
        [
          ...VOLUMES.map((v) => [targetOf(v.name), ['0 DIRECT_ACCESS']]),
          [targetOf('mediachanger'), ['0 MEDIA_CHANGER']],
          ...driveNames.map((d) => [targetOf(d), ['0 SEQUENTIAL_ACCESS']]),
        ].sort(),
        stdout,
      );
    });

    it('iscsi-ls with a wrong secret is refused: non-zero exit and no target listed', async () => {
      const run = await runTool('iscsi-ls', ['-s', portalUrl(`${user}%tapegw-secret2@`)]);
      assert.notEqual(run.exitCode, 0, `iscsi-ls exited 0:\n${run.stdout}`);
      assert.match(run.stderr, /Authentication failure/);
      assert.deepEqual(parseIscsiLs(run.stdout), []);
      assert.ok(!run.stdout.includes(targetOf('disk')), run.stdout);
    });

    it('iscsi-ls without credentials is refused', async () => {
      const run = await runTool('iscsi-ls', ['-s', portalUrl('')]);
      assert.notEqual(run.exitCode, 0, `iscsi-ls exited 0:\n${run.stdout}`);
      assert.match(run.stderr, /Authentication failure/);
      assert.deepEqual(parseIscsiLs(run.stdout), []);
    });

    it('iscsi-inq logs in to a target with the right secret and is refused with a wrong one', async () => {
      const target = `/${targetOf('disk')}/0`;
      const fields = parseInqFields(await inq(`${portalUrl(`${user}%${secret}@`)}${target}`));
      assert.equal(one(fields, 'Peripheral Device Type'), 'DIRECT_ACCESS');
      const refused = await runTool('iscsi-inq', [`${portalUrl(`${user}%tapegw-secret2@`)}${target}`]);
      assert.notEqual(refused.exitCode, 0, `iscsi-inq exited 0:\n${refused.stdout}`);
      assert.match(refused.stderr, /Authentication failure/);
      assert.ok(!refused.stdout.includes('DIRECT_ACCESS'), refused.stdout);
    });
  });
});
