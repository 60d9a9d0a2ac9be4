// What a hostile network meets at the portal: connections that never log in
// are closed after the login timeout; connections beyond the caps (in total,
// per source address) are closed at once, with one log line when a cap is
// reached; failed CHAP logins are logged as warnings with the initiator's name
// and address, and repeated failures from one address are slowed down. Other
// source addresses are 127.0.0.2 and up, the loopback network's other hosts.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { cdb, DISK_TARGET, startFabric, type FabricFixture } from '../helpers/fabric.ts';
import { LoginFailed, TestInitiator } from '../helpers/initiator.ts';
import { runTool } from '../helpers/libiscsi.ts';
import { capturingLogger, type LogRecord } from '../helpers/log-records.ts';
import { requirePeer } from '../helpers/peers.ts';

const WARN = 40;

/** A TCP connection from `localAddress`, and a promise that settles when the portal closes it. */
async function rawConnection(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

/** TEST UNIT READY's status, after the unit attention a new session's first command meets. */
async function ready(initiator: TestInitiator): Promise<number> {
  await initiator.command(cdb.testUnitReady());
  return (await initiator.command(cdb.testUnitReady())).status;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Whether the promise settles within `ms` (a bound far above what the portal needs, never a measurement). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([promise.then(() => true), late]);
  clearTimeout(timer);
  return settled;
}

describe('iSCSI portal admission: login timeout and connection caps', function () {
  this.timeout(60_000);
  let fabric: FabricFixture;
  const records: LogRecord[] = [];
  const opened: Socket[] = [];

  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    await fabric.stop();
    records.length = 0;
  });

  it('closes a connection that does not log in within the login timeout, and not one that did', async () => {
    fabric = await startFabric({ logger: capturingLogger(records), server: { loginTimeoutMs: 1000 } });
    const silent = await rawConnection(fabric.port);
    const halfway = await rawConnection(fabric.port);
    opened.push(silent.socket, halfway.socket);
    halfway.socket.write(Buffer.alloc(20, 0x43)); // part of a header, and then nothing
    const loggedIn = await TestInitiator.connect(fabric.port);
    opened.push(loggedIn.socket);
    await loggedIn.login({ targetName: DISK_TARGET });

    assert.ok(await within(Promise.all([silent.closed, halfway.closed]), 20_000), 'closed after the login timeout');
    assert.equal(records.filter((r) => r.msg === 'closing connection' && r['reason'] === 'login not completed within 1 s').length, 2);
    assert.equal(loggedIn.closed, false);
    assert.equal(await ready(loggedIn), 0, 'the logged-in connection still serves');
  });

  it('caps connections per source address: the rest are closed at once, one warning, and other addresses get in', async () => {
    fabric = await startFabric({ logger: capturingLogger(records), server: { connectionLimits: { total: 100, perAddress: 4 } } });
    const flood = await Promise.all(Array.from({ length: 10 }, () => rawConnection(fabric.port, '127.0.0.2')));
    opened.push(...flood.map((c) => c.socket));
    const closed = flood.map(() => false);
    flood.forEach((c, i) => void c.closed.then(() => (closed[i] = true)));
    assert.ok(
      await within(
        until(() => closed.filter(Boolean).length >= 6),
        5_000,
      ),
      'six of them are closed',
    );

    const warnings = records.filter((r) => r.level === WARN && /limit per address reached/.test(r.msg));
    assert.equal(warnings.length, 1, 'one warning, not one per refused connection');
    assert.equal(warnings[0]!['address'], '127.0.0.2');
    assert.match(warnings[0]!.msg, /4 connections from 127\.0\.0\.2 are open.*iscsi\.connectionLimitPerAddress/);

    // 127.0.0.1 is not held up by 127.0.0.2.
    const admitted = flood.filter((_, i) => !closed[i]).map((c) => c.socket);
    assert.equal(admitted.length, 4, 'four stay open');
    const other = await TestInitiator.connect(fabric.port, '127.0.0.1');
    opened.push(other.socket);
    await other.login({ targetName: DISK_TARGET });
    assert.equal(await ready(other), 0);

    for (const socket of admitted) socket.destroy();
    const reopened = (r: LogRecord) => /connections from 127\.0\.0\.2 are accepted again; 6 were closed at the limit/.test(r.msg);
    assert.ok(
      await within(
        until(() => records.some(reopened)),
        5_000,
      ),
      'the portal says when it accepts the address again',
    );
    const again = await TestInitiator.connect(fabric.port, '127.0.0.1', '127.0.0.2');
    opened.push(again.socket);
    await again.login({ targetName: DISK_TARGET });
  });

  it('caps connections in total, whatever their addresses', async () => {
    fabric = await startFabric({ logger: capturingLogger(records), server: { connectionLimits: { total: 6, perAddress: 4 } } });
    const first = await Promise.all([2, 2, 2, 2, 3, 3].map((host) => rawConnection(fabric.port, `127.0.0.${host}`)));
    opened.push(...first.map((c) => c.socket));
    // The kernel queues them in order, and the portal accepts them in that order: these two come after the six.
    const over = await Promise.all([4, 5].map((host) => rawConnection(fabric.port, `127.0.0.${host}`)));
    opened.push(...over.map((c) => c.socket));
    assert.ok(await within(Promise.all(over.map((c) => c.closed)), 5_000), 'connections over the total are closed');
    assert.equal((await Promise.all(first.map((c) => within(c.closed, 200)))).filter(Boolean).length, 0, 'the first six stay');
    const warnings = records.filter((r) => r.level === WARN && /iSCSI connection limit reached/.test(r.msg));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.msg, /6 connections are open.*iscsi\.connectionLimit\)/);
  });
});

describe('@peer iSCSI portal admission: failed CHAP logins', function () {
  this.timeout(120_000);
  const user = 'backup';
  const secret = 'tapegw-secret1';
  const initiator = 'iqn.2026-11.test:guesser';
  const pacing = { freeFailures: 3, firstDelayMs: 150, maxDelayMs: 600, forgetMs: 60_000 };
  let fabric: FabricFixture;
  const records: LogRecord[] = [];

  before(function () {
    requirePeer(this, 'iscsi-inq');
  });
  beforeEach(async () => {
    records.length = 0;
    fabric = await startFabric({ logger: capturingLogger(records), auth: { chap: { user, secret } }, server: { loginPacing: pacing } });
  });
  afterEach(() => fabric.stop());

  const inq = (password: string) =>
    runTool('iscsi-inq', ['-i', initiator, `iscsi://${user}%${password}@127.0.0.1:${fabric.port}/${DISK_TARGET}/0`]);
  const failures = () => records.filter((r) => r.level === WARN && /failed CHAP authentication/.test(r.msg));

  it('logs each failure as a warning with the initiator and its address, and slows down the ones after the third', async () => {
    const started = performance.now();
    for (let i = 0; i < 7; i++) {
      const run = await inq(`wrong-secret-${i}`);
      assert.notEqual(run.exitCode, 0);
      assert.match(run.stderr, /Authentication failure/);
    }
    const elapsed = performance.now() - started;

    const logged = failures();
    assert.equal(logged.length, 7);
    for (const [i, record] of logged.entries()) {
      assert.equal(record['initiator'], initiator);
      assert.equal(record['address'], '127.0.0.1');
      assert.equal(record['target'], DISK_TARGET);
      assert.equal(record['chapUser'], user);
      assert.equal(record['failures'], i + 1);
      assert.match(record.msg, new RegExp(`initiator ${initiator} from 127\\.0\\.0\\.1`));
    }
    // Verdicts 4 to 7 were held 150, 300, 600 and 600 ms (within a few ms of the clock's ticks).
    const held = logged.map((r) => r['delayMs'] as number);
    assert.deepEqual(held.slice(0, 3), [0, 0, 0]);
    for (const [i, expected] of [150, 300, 600, 600].entries())
      assert.ok(held[3 + i]! >= expected - 5 && held[3 + i]! <= expected, `held ${JSON.stringify(held)}`);
    assert.ok(elapsed >= 1600, `seven wrong logins took only ${elapsed} ms`);

    // The right secret still gets in (held too), and clears the address.
    const right = await inq(secret);
    assert.equal(right.exitCode, 0, right.stderr);
    assert.ok(records.some((r) => r.msg === 'CHAP login held back: its address failed recently'));
    await inq('wrong-again');
    assert.equal(failures().at(-1)!['delayMs'], 0);
  });

  it('gains nothing from parallel connections: verdicts from one address come one at a time', async () => {
    for (let i = 0; i < 3; i++) await inq(`wrong-secret-${i}`);
    const started = performance.now();
    const guesses = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const guesser = await TestInitiator.connect(fabric.port);
        try {
          await guesser.login({ targetName: DISK_TARGET, initiatorName: initiator, chap: { user, secret: `parallel-${i}` } });
          return 'in';
        } catch (error) {
          return error instanceof LoginFailed ? `${error.statusClass}/${error.statusDetail}` : String(error);
        } finally {
          guesser.socket.destroy();
        }
      }),
    );
    assert.deepEqual(guesses, ['2/1', '2/1', '2/1', '2/1']);
    // 150 + 300 + 600 + 600 ms, one after another.
    assert.ok(performance.now() - started >= 1600, `four parallel guesses were answered in ${performance.now() - started} ms`);
  });
});
