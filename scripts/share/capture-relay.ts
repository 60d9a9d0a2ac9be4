// Records the RPC records a real client and a real server exchange, for the
// codec's golden tests (fixtures/nfs/). Relays 127.0.0.1:LISTEN to
// 127.0.0.1:TARGET for each "LISTEN:TARGET" argument and writes every record,
// as hex, one a line, to OUT-DIR/<target>-<n>-{call,reply}.hex. Usage:
//   node --import tsx scripts/share/capture-relay.ts OUT-DIR 22049:12049 22050:12050
// then point the client at the LISTEN ports; stop with Ctrl-C.
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RecordReader } from '../../src/share/rpc/record-marking.ts';

const [outDir, ...pairs] = process.argv.slice(2);
if (!outDir || pairs.length === 0) throw new Error('usage: capture-relay.ts OUT-DIR LISTEN:TARGET...');
mkdirSync(outDir, { recursive: true });
let connection = 0;
for (const pair of pairs) {
  const [listen, target] = pair.split(':').map(Number) as [number, number];
  net
    .createServer((client) => {
      const n = ++connection;
      const server = net.connect(target, '127.0.0.1');
      const record = (direction: 'call' | 'reply') => {
        const reader = new RecordReader(64 * 1024 * 1024);
        let index = 0;
        return (chunk: Buffer) => {
          reader.push(chunk);
          for (let r = reader.next(); r; r = reader.next()) {
            writeFileSync(
              path.join(outDir, `${target}-${n}-${String(index++).padStart(3, '0')}-${direction}.hex`),
              `${r.toString('hex')}\n`,
            );
          }
        };
      };
      const calls = record('call');
      const replies = record('reply');
      client.on('data', (chunk: Buffer) => {
        calls(chunk);
        server.write(chunk);
      });
      server.on('data', (chunk: Buffer) => {
        replies(chunk);
        client.write(chunk);
      });
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    })
    .listen(listen, '127.0.0.1');
}
