// Captures real initiators' PDUs for the codec's golden fixtures
// (fixtures/pdus/*.json, checked by test/iscsi/pdu-golden.test.ts): a gateway
// on a free port, a relay in front of it that frames every PDU both ways, and
// libiscsi's tools and QEMU's iSCSI block driver logging in through the relay.
//
//   node --import tsx scripts/capture-pdus.ts      # rewrites fixtures/pdus/{libiscsi,qemu}-*.json
//
// Needs libiscsi-bin and qemu-system-x86 + qemu-block-extra. Digests must stay
// off (the relay frames without them): both initiators offer None first.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Opcode, opcodeOf } from '../src/iscsi/pdu.ts';
import { PduReader } from '../src/iscsi/pdu-reader.ts';
import { decodeTextData } from '../src/iscsi/text.ts';
import { startGatewayProcess } from '../test/helpers/gateway-process.ts';

const fixtures = fileURLToPath(new URL('../fixtures/pdus/', import.meta.url));
/** PDUs with a larger data segment (bulk Data-In) are left out: the fixtures are about headers and text. */
const MAX_DATA = 1024;

interface CapturedPdu {
  readonly from: 'initiator' | 'target';
  readonly bhs: string;
  readonly data: string;
}

/** A TCP relay to `port` that records each connection's PDUs in both directions, in the order they passed. */
async function relay(port: number): Promise<{ port: number; connections: CapturedPdu[][]; close(): Promise<void> }> {
  const connections: CapturedPdu[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const pdus: CapturedPdu[] = [];
    connections.push(pdus);
    const upstream = connect({ port, host: '127.0.0.1' });
    sockets.add(client).add(upstream);
    const pipe = (from: Socket, to: Socket, who: CapturedPdu['from']): void => {
      const reader = new PduReader({ maxDataSegmentLength: 16 * 1024 * 1024, headerDigest: false, dataDigest: false });
      from.on('data', (chunk: Buffer) => {
        to.write(chunk);
        reader.push(chunk);
        for (let f = reader.next(); f; f = reader.next()) {
          const { bhs, data } = f.pdu;
          if (opcodeOf(bhs) === Opcode.LoginResponse && data.length > 0) {
            const digest = decodeTextData(data).find((kv) => kv.key.endsWith('Digest') && kv.value !== 'None');
            if (digest) throw new Error(`${digest.key}=${digest.value} negotiated: the relay frames without digests`);
          }
          if (data.length <= MAX_DATA) pdus.push({ from: who, bhs: bhs.toString('hex'), data: data.toString('hex') });
        }
      });
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    };
    pipe(client, upstream, 'initiator');
    pipe(upstream, client, 'target');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function save(name: string, source: string, connections: CapturedPdu[][]): Promise<void> {
  const json = JSON.stringify({ source, connections }, null, 1);
  await writeFile(`${fixtures}${name}.json`, `${json}\n`);
  console.log(`${name}.json: ${connections.map((c) => c.length).join(' + ')} PDUs`);
}

const gw = await startGatewayProcess({
  args: ['--name', 'golden', '--volume', 'disk=64MiB', '--drives', '1', '--slots', '4', '--import-export-slots', '2'],
});
try {
  const disk = gw.targets.find((t) => t.name.endsWith('-disk'))!.name;
  const capture = async (
    name: string,
    source: string,
    command: string,
    args: (portal: string) => string[],
    timeoutMs = 15_000,
  ): Promise<void> => {
    const r = await relay(gw.port);
    await run(command, args(`127.0.0.1:${r.port}`), timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await r.close();
    await save(name, source, r.connections);
  };
  const initiator = 'iqn.2026-11.io.tapegateway:golden-capture';
  await capture('libiscsi-discovery', 'libiscsi 1.19 iscsi-ls: discovery session, SendTargets, logout', 'iscsi-ls', (p) => [
    '-i',
    initiator,
    `iscsi://${p}`,
  ]);
  await capture('libiscsi-inquiry', 'libiscsi 1.19 iscsi-inq: normal session login, INQUIRY, logout', 'iscsi-inq', (p) => [
    '-i',
    initiator,
    `iscsi://${p}/${disk}/0`,
  ]);
  await capture(
    'qemu-login',
    "QEMU 7.2's iSCSI block driver (libiscsi) opening a LUN: login, its probing commands; QEMU is stopped with SIGTERM after 8 s",
    'qemu-system-x86_64',
    (p) => [
      '-accel',
      'tcg',
      '-machine',
      'none',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-blockdev',
      `driver=iscsi,node-name=d0,transport=tcp,portal=${p},target=${disk},lun=0,initiator-name=iqn.2008-11.org.linux-kvm:golden`,
    ],
    8_000,
  );
} finally {
  await gw.stop();
}
