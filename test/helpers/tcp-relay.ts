// A TCP relay on the loopback between a client and a server, that a test can
// have drop its connections: the host-side cut of a link, for the initiator's
// error recovery (a Linux guest's iSCSI session re-logging in mid-write).
//
//   const relay = await startRelay(gatewayPort);   // relay.port forwards to 127.0.0.1:gatewayPort
//   relay.dropAfter(8 * 2 ** 20);                  // once 8 MiB more went client → server, cut every connection
//   relay.connections                              // connections accepted so far
//   await relay.close();
import { createServer, connect, type Socket } from 'node:net';

export interface Relay {
  readonly port: number;
  /** Connections accepted so far (a re-login shows as one more). */
  readonly connections: number;
  /** Connections cut by dropAfter. */
  readonly dropped: number;
  /** Cuts every open connection, both sides, once `bytes` more have gone from clients to the server. */
  dropAfter(bytes: number): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const open = new Set<{ client: Socket; server: Socket }>();
  let connections = 0;
  let dropped = 0;
  let armed: number | undefined;
  const cutAll = (): void => {
    for (const pair of open) {
      pair.client.resetAndDestroy();
      pair.server.resetAndDestroy();
      dropped++;
    }
    open.clear();
  };
  const server = createServer((client) => {
    connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, server: upstream };
    open.add(pair);
    const end = (): void => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (armed !== undefined) {
        armed -= chunk.length;
        if (armed <= 0) {
          armed = undefined;
          cutAll();
          return;
        }
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no port');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    get dropped() {
      return dropped;
    },
    dropAfter(bytes) {
      armed = bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
