// The web console in Debian's Chromium (driven by playwright-core) against a
// real gateway process on its embedded default, as an operator uses it: a
// wrong token refused, sign in, create tapes and see them in the slots, a
// cartridge moved into a drive with tapegw and the drive showing it, data
// written through the drive showing in the iSCSI chart, the API's refusal of
// archiving a cartridge in a drive shown in its own words, an archive
// followed to ARCHIVED, keyboard use of the slots, a volume created, written
// through its target (its cache hits shown), its snapshot taken to Completed
// and restored as a new volume, a file share created and listed with its
// mount command, a file written to it with libnfs's nfs-cp followed until it
// is in the bucket, and axe-core's check of every view. Screenshots of each
// view (laptop and phone sizes) go to .screenshots/console/ for a reviewer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { buildConsole } from '../../console/build.ts';
import { readApiCredentials, type ApiCredentials } from '../../src/api/credentials.ts';
import type { ShareAnswer } from '../../src/api/share-routes.ts';
import type { TapeInfo } from '../../src/tape/tape-service.ts';
import type { SnapshotInfo, VolumeInfo } from '../../src/volume/volume-service.ts';
import { callApi } from '../api/call.ts';
import { runCli } from '../cli/run-cli.ts';
import { BlockClient } from '../helpers/block-client.ts';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { block, cdb, GOOD, login } from '../helpers/library-driver.ts';
import { findOnPath, requirePeer } from '../helpers/peers.ts';

const run = promisify(execFile);
const SCREENSHOTS = fileURLToPath(new URL('../../.screenshots/console/', import.meta.url));
const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
/** Polls run every 2 s and history samples every 5 s; a loaded machine gets ample room. */
const SEE_MS = 30_000;

describe('@peer web console in Chromium against the real gateway', function () {
  this.timeout(180_000);
  let dataDir: string;
  let gw: GatewayProcess | undefined;
  let api: ApiCredentials;
  let browser: BrowserContext | undefined;
  let profile: string | undefined;
  let page: Page;
  const problems: string[] = [];
  const requestedUrls: string[] = [];
  const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args], { cwd: tmpdir() });
  /** What the API answers tapegw (quicker than starting tapegw where its printing is not the point). */
  const ask = async (method: string, path: string) => {
    const answer = await callApi(api.url, api.token, method, path);
    assert.ok(answer.status < 300, `${method} ${path}: ${JSON.stringify(answer.json)}`);
    return answer.json as unknown;
  };

  before(async function () {
    requirePeer(this, 'chromium', 'nfs-cp');
    await Promise.all([buildConsole(), mkdir(SCREENSHOTS, { recursive: true })]);
    dataDir = await mkdtemp(join(tmpdir(), 'tapegw-console-'));
    gw = await startGatewayProcess({ dataDir, args: ['--segment-size', '1MiB', '--glacier-job-delays', '1'] });
    api = (await readApiCredentials(dataDir))!;
    // A fresh profile each run (--user-data-dir, which playwright takes as this argument).
    profile = await mkdtemp(join(tmpdir(), 'tapegw-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: findOnPath('chromium')!,
      viewport: LAPTOP,
      // Without the background-networking flags Chromium reaches for Google's services, which this closed network refuses.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // Chromium logs each 4xx answer (the refusals the test asks for) as an error; anything else is a problem.
    page.on('console', (message) => {
      if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()))
        problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => requestedUrls.push(request.url()));
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  async function see(locator: Locator): Promise<Locator> {
    await locator.first().waitFor({ state: 'visible', timeout: SEE_MS });
    return locator.first();
  }

  async function show(view: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view }).click();
    await see(page.getByRole('heading', { level: 1, name: view }));
  }

  /** axe-core in the page: no serious or critical violation. Evaluated (not a script tag), since the page's policy forbids inline scripts. */
  async function checkAccessibility(what: string): Promise<void> {
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await readFile(AXE_SOURCE, 'utf8'));
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: { run(): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> };
        }
      ).axe;
      const result = await axe.run();
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
      }));
    });
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], `${what}: accessibility violations`);
  }

  async function screenshots(name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(LAPTOP);
  }

  const tapesIn = async (): Promise<TapeInfo[]> => ((await ask('GET', '/tapes')) as { tapes: TapeInfo[] }).tapes;

  it('refuses a wrong token in the API’s words, and signs in with the one from api.json', async () => {
    await page.goto(`${api.url}/`);
    const field = await see(page.getByLabel('API token'));
    assert.ok(await field.evaluate((element) => element === document.activeElement), 'the token field has the focus');
    await checkAccessibility('sign-in');
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in.png') });

    await field.fill('not-the-token');
    await field.press('Enter');
    const refusal = await see(page.getByRole('alert').filter({ hasText: 'refused' }));
    assert.match(
      await refusal.innerText(),
      /The gateway refused this token: send 'Authorization: Bearer TOKEN' with the token from api\.json/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in-refused.png') });

    await field.fill(api.token);
    await field.press('Enter');
    await see(page.getByRole('heading', { level: 1, name: 'Library' }));
    await see(page.getByRole('listitem').filter({ hasText: 'Drive 10' }));
    assert.ok(!page.url().includes(api.token), 'the token is not in the address');
  });

  it('creates tapes from the Tapes view and shows them in their slots', async () => {
    await show('Tapes');
    await page.getByRole('button', { name: 'Create tapes…' }).click();
    const dialog = await see(page.getByRole('dialog', { name: 'Create tapes' }));
    await dialog.getByLabel('Count').fill('3');
    await dialog.getByLabel('Barcode prefix').fill('con');
    await dialog.getByLabel('Size', { exact: true }).fill('100');
    await dialog.getByLabel('Size unit').selectOption('GiB');
    await checkAccessibility('create tapes dialog');
    await page.screenshot({ path: join(SCREENSHOTS, 'tapes-create.png') });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await see(page.getByRole('status').filter({ hasText: 'Created 3 tapes with prefix CON' }));

    const created = (await tapesIn()).filter((t) => t.barcode.startsWith('CON'));
    assert.equal(created.length, 3);
    for (const tape of created) await see(page.getByRole('rowheader', { name: tape.barcode }));

    await show('Library');
    for (const tape of created) {
      assert.equal(tape.location.kind, 'slot');
      await see(page.getByRole('button', { name: `${tape.barcode} in slot ${tape.location.index}, Available` }));
    }
  });

  it('shows a cartridge moved into a drive with tapegw, and the data written through that drive', async () => {
    const [tape] = (await tapesIn()).filter((t) => t.barcode.startsWith('CON'));
    const moved = await cli('tape', 'move', tape!.barcode, '--to', 'drive:1');
    assert.equal(moved.code, 0, moved.stderr);
    const drive = await see(page.getByRole('listitem').filter({ has: page.getByText('Drive 1', { exact: true }) }));
    await see(drive.getByRole('button', { name: new RegExp(`^${tape!.barcode} in drive 1, `) }));
    await page.screenshot({ path: join(SCREENSHOTS, 'library-drive-loaded.png') });

    const driveTarget = gw!.targets.find((t) => t.name.endsWith('-tapedrive-01'))!.name;
    const writer = await login(gw!, driveTarget, 7);
    for (let i = 0; i < 64; i++) assert.equal((await writer.command(cdb.write6(64 * 1024), { write: block(i) })).status, GOOD);
    assert.equal((await writer.command(cdb.writeFilemarks(1))).status, GOOD);
    writer.close();

    await show('Cache and cloud');
    // The peak stays on the chart for an hour, whenever the gateway's 5 s sample caught the writes.
    await see(page.getByRole('listitem').filter({ hasText: /^Write now .*, peak [1-9][\d.]* [kMG]B\/s$/ }));
    await see(page.getByRole('img', { name: /^Cache used: / }));
  });

  it('shows the API’s refusal to delete a cartridge in a drive in its own words, archives it to ARCHIVED and retrieves it', async () => {
    const [tape] = (await tapesIn()).filter((t) => t.location.kind === 'drive');
    const barcode = tape!.barcode;
    const fromCli = await cli('tape', 'delete', barcode);
    assert.equal(fromCli.code, 1, 'tapegw is refused too');
    const apiWords = fromCli.stderr.replace(/^tapegw: /, '').trim();

    await show('Library');
    await page.getByRole('button', { name: new RegExp(`^${barcode} in drive 1, `) }).click();
    const details = await see(page.getByRole('dialog', { name: `Cartridge ${barcode}` }));
    await see(details.getByText('In a drive'));
    await checkAccessibility('cartridge details');
    await details.screenshot({ path: join(SCREENSHOTS, 'library-details.png') });
    await details.getByRole('button', { name: 'Delete…' }).click();
    const confirm = await see(page.getByRole('dialog', { name: `Delete ${barcode}?` }));
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    const refusal = await see(confirm.getByRole('alert').filter({ hasText: 'Refused' }));
    assert.equal(await refusal.innerText(), `Refused: ${apiWords}`);
    await confirm.screenshot({ path: join(SCREENSHOTS, 'library-delete-refused.png') });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });

    await show('Tapes');
    await page.getByRole('button', { name: `Archive ${barcode}` }).click();
    await (
      await see(page.getByRole('dialog', { name: `Archive ${barcode}?` }))
    )
      .getByRole('button', { name: 'Archive', exact: true })
      .click();
    await see(page.getByRole('status').filter({ hasText: `Archiving ${barcode}` }));

    await show('Shelf');
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: barcode }) });
    await see(row.getByText('Archived', { exact: true }));
    assert.match(await row.innerText(), /GLACIER/);
    const described = await cli('shelf', 'describe', barcode, '--json');
    assert.equal((JSON.parse(described.stdout) as { status: string }).status, 'ARCHIVED');

    await row.getByRole('button', { name: `Retrieve ${barcode}` }).click();
    const retrieve = await see(page.getByRole('dialog', { name: `Retrieve ${barcode}` }));
    await retrieve.getByLabel(/^Expedited/).check();
    await checkAccessibility('retrieve dialog');
    await retrieve.getByRole('button', { name: 'Retrieve', exact: true }).click();
    await see(row.getByText('Retrieved', { exact: true }));
    await show('Library');
    await page.getByRole('button', { name: /^Import\/export/ }).click();
    await see(page.getByRole('button', { name: `${barcode} in import/export slot 1, Retrieved, read-only` }));
  });

  it('lets a keyboard open a cartridge from the slots and come back to it', async () => {
    await show('Library');
    await page.getByRole('button', { name: /^Storage/ }).click();
    const [tape] = (await tapesIn()).filter((t) => t.location.kind === 'slot');
    const cell = await see(page.getByRole('button', { name: `${tape!.barcode} in slot ${tape!.location.index}, Available` }));
    await cell.focus();
    await page.keyboard.press('Enter');
    await see(page.getByRole('dialog', { name: `Cartridge ${tape!.barcode}` }));
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.ok(await cell.evaluate((element) => element === document.activeElement), 'the focus is back on the cell');
  });

  it('creates a volume from the Volumes view, shows its cache hits, takes a snapshot of it to Completed and restores it as a new volume', async () => {
    await show('Volumes');
    await page.getByRole('button', { name: 'Create volume…' }).click();
    const create = await see(page.getByRole('dialog', { name: 'Create a volume' }));
    await create.getByLabel('Name').fill('console-vol');
    await create.getByLabel('Type').selectOption('cached');
    await create.getByLabel('Size (GiB)').fill('1');
    await checkAccessibility('create volume dialog');
    await create.getByRole('button', { name: 'Create', exact: true }).click();
    await see(page.getByRole('status').filter({ hasText: 'Created volume console-vol' }));
    const volumeRow = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^console-vol/ }) });
    await see(volumeRow.getByText('Available', { exact: true }));
    await see(volumeRow.getByText('No reads yet', { exact: true }));

    // An initiator writes 1 MiB through the volume's target and reads it back: from the cache.
    const volume = (await ask('GET', '/volumes/console-vol')) as VolumeInfo;
    assert.deepEqual([volume.type, volume.sizeBytes], ['cached', 2 ** 30]);
    await see(volumeRow.locator('xpath=following-sibling::tr[1]').getByText(volume.target, { exact: true }));
    const data = randomBytes(1024 * 1024);
    const disk = await BlockClient.login(gw!.port, volume.target, { blockSize: volume.blockSize });
    try {
      await disk.write(0, data);
      await disk.synchronizeCache();
      assert.ok((await disk.read(0, data.length / volume.blockSize)).equals(data), 'the volume reads back what was written');
    } finally {
      await disk.logout();
    }
    await see(volumeRow.getByText('100.0%', { exact: true }));

    await volumeRow.getByRole('button', { name: 'Take a snapshot of console-vol' }).click();
    const take = await see(page.getByRole('dialog', { name: 'Take a snapshot of console-vol' }));
    await take.getByLabel('Description').fill('from the console');
    await checkAccessibility('snapshot dialog');
    await take.getByRole('button', { name: 'Take snapshot' }).click();
    await see(page.getByRole('status').filter({ hasText: 'Snapshot of console-vol started' }));

    const listed = await cli('snapshot', 'list', '--volume', 'console-vol', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const [snapshot] = JSON.parse(listed.stdout) as SnapshotInfo[];
    assert.equal(snapshot?.description, 'from the console');
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${snapshot.id}`) }) });
    await see(row.getByText('Completed', { exact: true }));
    await page.screenshot({ path: join(SCREENSHOTS, 'volumes-snapshot-completed.png'), fullPage: true });
    await row.getByRole('button', { name: `Restore ${snapshot.id} as a new volume` }).click();
    const restore = await see(page.getByRole('dialog', { name: `Restore ${snapshot.id} as a new volume` }));
    await restore.getByLabel('Name').fill('console-vol-copy');
    await checkAccessibility('restore dialog');
    await restore.getByRole('button', { name: 'Restore', exact: true }).click();
    await see(page.getByRole('status').filter({ hasText: 'Created volume console-vol-copy' }));
    await see(page.getByRole('rowheader', { name: /^console-vol-copy/ }));

    const copy = (await ask('GET', '/volumes/console-vol-copy')) as VolumeInfo;
    assert.equal(copy.sourceSnapshotId, snapshot.id);
    assert.equal(copy.type, 'cached', 'a snapshot of a cached volume restores as one unless told otherwise');
  });

  it('creates a file share from the File shares view, lists it with its mount command and follows a file written over NFS into the bucket', async () => {
    await show('File shares');
    await page.getByRole('button', { name: 'Create share…' }).click();
    const create = await see(page.getByRole('dialog', { name: 'Create a file share' }));
    await create.getByLabel('Name').fill('docs');
    await create.getByLabel('Bucket').fill('console-docs');
    await create.getByLabel('Prefix').fill('team/');
    await create.getByLabel('Cache stale timeout (s)').fill('300');
    // Long enough that the file written below waits in the cache until tapegw share wait-uploaded sends it.
    await create.getByLabel('Settling time (s)').fill('3600');
    await checkAccessibility('create share dialog');
    await page.screenshot({ path: join(SCREENSHOTS, 'shares-create.png') });
    await create.getByRole('button', { name: 'Create', exact: true }).click();
    await see(page.getByRole('status').filter({ hasText: 'Created share docs, exported as /docs.' }));

    const share = (await ask('GET', '/shares/docs')) as ShareAnswer;
    assert.deepEqual(
      [share.bucket, share.prefix, share.cacheStaleTimeoutSeconds, share.settleSeconds],
      ['console-docs', 'team/', 300, 3600],
    );
    assert.equal(
      share.mount,
      `mount -t nfs -o vers=3,proto=tcp,port=${gw!.nfs.nfsPort},mountport=${gw!.nfs.mountPort},mountproto=tcp,nolock 127.0.0.1:/docs /mnt`,
    );
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^docs/ }) });
    // The command is on the line under the share's row, across the table.
    await see(row.locator('xpath=following-sibling::tr[1]').getByText(share.mount, { exact: true }));
    assert.match(await row.innerText(), /s3:\/\/console-docs\/team\/[\s\S]*All uploaded[\s\S]*300 s/);

    // A second share of the same name: the API's refusal, word for word as tapegw gets it.
    const fromCli = await cli('share', 'create', 'docs', '--bucket', 'console-docs');
    assert.equal(fromCli.code, 1, 'tapegw is refused too');
    await page.getByRole('button', { name: 'Create share…' }).click();
    const again = await see(page.getByRole('dialog', { name: 'Create a file share' }));
    await again.getByLabel('Name').fill('docs');
    await again.getByLabel('Bucket').fill('console-docs');
    await again.getByRole('button', { name: 'Create', exact: true }).click();
    const refusal = await see(again.getByRole('alert').filter({ hasText: 'Refused' }));
    assert.equal(await refusal.innerText(), `Refused: ${fromCli.stderr.replace(/^tapegw: /, '').trim()}`);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });

    const local = join(tmpdir(), `console-report-${process.pid}.bin`);
    await writeFile(local, randomBytes(3 * 1024 * 1024));
    try {
      await run('nfs-cp', [local, `nfs://127.0.0.1/docs/report.bin?nfsport=${gw!.nfs.nfsPort}&mountport=${gw!.nfs.mountPort}`]);
    } finally {
      await rm(local, { force: true });
    }
    await see(row.getByText('Uploading', { exact: true }));
    await see(row.getByText(/^1 file \(3MiB\) to upload$/));
    await page.screenshot({ path: join(SCREENSHOTS, 'file-shares-uploading.png'), fullPage: true });
    const waited = await cli('share', 'wait-uploaded', 'docs');
    assert.equal(waited.code, 0, waited.stderr);
    await see(row.getByText('All uploaded', { exact: true }));

    await row.getByRole('button', { name: 'Refresh docs' }).click();
    const refresh = await see(page.getByRole('dialog', { name: 'Refresh docs' }));
    await refresh.getByRole('button', { name: 'Refresh', exact: true }).click();
    await see(page.getByRole('status').filter({ hasText: 'Refreshed 1 directory of share docs from its bucket.' }));

    await row.getByRole('button', { name: 'Delete docs' }).click();
    const remove = await see(page.getByRole('dialog', { name: 'Delete share docs?' }));
    await remove.getByRole('button', { name: 'Delete', exact: true }).click();
    await see(page.getByRole('status').filter({ hasText: 'Deleted share docs; its objects stay in the bucket.' }));
    await row.waitFor({ state: 'detached', timeout: SEE_MS });
    const { shares } = (await ask('GET', '/shares')) as { shares: ShareAnswer[] };
    assert.deepEqual(
      shares.map((s) => s.name),
      ['files'],
    );
  });

  it('passes axe-core on every view and leaves screenshots of each', async () => {
    for (const view of ['Library', 'Tapes', 'Shelf', 'Volumes', 'File shares', 'Cache and cloud']) {
      await show(view);
      await checkAccessibility(view);
      await screenshots(view.toLowerCase().replace(/ /g, '-'));
    }
    assert.deepEqual(problems, [], 'no error in the browser console (a refused script or style would show here)');
    assert.deepEqual(
      requestedUrls.filter((url) => url.includes(api.token)),
      [],
      'the token is in no URL the browser asked for',
    );
    assert.ok(!gw!.logs.some((record) => JSON.stringify(record).includes(api.token)), 'the token is in no log record');
  });
});
