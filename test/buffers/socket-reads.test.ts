// An accepted connection taken into a socket that reads into one reused buffer: every byte arrives, in order, in the same memory, and the connection otherwise behaves as the accepted one did.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { readIntoOneBuffer } from '../../src/buffers/socket-reads.ts';
import { pattern } from '../helpers/fabric.ts';

describe('socket reads into one buffer', () => {
  let server: Server;
  let taken: Promise<{
    socket: Socket;
    reads: Buffer[];
    memory: Set<ArrayBufferLike>;
    direct: { target: Buffer | undefined; landed: number[] };
  }>;

  beforeEach(async () => {
    taken = new Promise((resolve) => {
      server = createServer({ pauseOnConnect: true }, (accepted) => {
        const reads: Buffer[] = [];
        const memory = new Set<ArrayBufferLike>();
        const direct = { target: undefined as Buffer | undefined, landed: [] as number[] };
        const received = (): number => reads.reduce((n, r) => n + r.length, 0) + direct.landed.reduce((n, b) => n + b, 0);
        const socket = readIntoOneBuffer(accepted, 4096, {
          directTarget: () => direct.target,
          landed: (bytes) => {
            direct.landed.push(bytes);
            direct.target = direct.target!.subarray(bytes);
            if (direct.target.length === 0) direct.target = undefined;
          },
          receive: (bytes) => {
            memory.add(bytes.buffer);
            reads.push(Buffer.from(bytes));
            if (bytes.includes(0x0a)) socket.write(`got ${received()}\n`);
          },
        });
        resolve({ socket, reads, memory, direct });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('delivers every byte in order through one buffer, answers on the same connection, and closes when the peer does', async () => {
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    const { socket, reads, memory } = await taken;
    const sent = Buffer.concat([pattern(100_000, 9).map((b) => (b === 0x0a ? 0x0b : b)), Buffer.from('\n')]);
    const answer = once(client, 'data');
    for (let at = 0; at < sent.length; at += 30_000) client.write(sent.subarray(at, at + 30_000));
    assert.equal(String((await answer)[0]), `got ${sent.length}\n`);
    assert.ok(Buffer.concat(reads).equals(sent));
    assert.ok(reads.length >= 25, `${reads.length} reads of at most 4096 bytes`);
    assert.equal(memory.size, 1, 'every read landed in the same memory');
    assert.equal(await new Promise((resolve) => server.getConnections((_e, n) => resolve(n))), 0, 'the accepted socket is closed');
    const closed = once(socket, 'close');
    client.end();
    await closed;
  });

  it('reads into the memory the receiver offers, as far as it reaches, and into the shared buffer otherwise', async () => {
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    const { reads, memory, direct } = await taken;
    const offered = Buffer.alloc(50_000);
    // Offered before the first read: Node asks for the memory of the next read after each read.
    direct.target = offered;
    const sent = Buffer.concat([pattern(80_000, 4).map((b) => (b === 0x0a ? 0x0b : b)), Buffer.from('\n')]);
    const answer = once(client, 'data');
    client.write(sent);
    assert.equal(String((await answer)[0]), `got ${sent.length}\n`);
    assert.equal(
      direct.landed.reduce((n, b) => n + b, 0),
      offered.length,
    );
    // The socket's first read was asked for before the offer and went to the shared buffer; the rest after the offer's end.
    const first = reads[0]!.length;
    assert.ok(offered.equals(sent.subarray(first, first + offered.length)));
    assert.ok(Buffer.concat([reads[0]!, offered, ...reads.slice(1)]).equals(sent));
    assert.equal(memory.size, 1);
    client.end();
  });
});
