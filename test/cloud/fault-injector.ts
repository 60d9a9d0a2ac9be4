// The fault injector: an HTTP proxy in front of an S3 endpoint that answers a
// share of requests with 500 InternalError, 503 SlowDown, a stall (no answer at
// all), or a connection reset (before the request reaches S3, or halfway through
// the answer after it did), and on demand damages request bodies on their way
// (one byte flipped: what a faulty NIC or proxy does, which cannot be had for
// real). Everything else passes through unchanged.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { flipBits } from '../helpers/bytes.ts';

export type Fault = 'internal-error' | 'slow-down' | 'stall' | 'reset-before' | 'reset-during';
const FAULTS: Fault[] = ['internal-error', 'slow-down', 'stall', 'reset-before', 'reset-during'];

export interface FaultInjector {
  readonly endpoint: string;
  readonly injected: Record<Fault, number>;
  requests: number;
  /** Requests by HTTP method. */
  readonly methods: Record<string, number>;
  /** Every request as it came: method, path with query, headers. */
  readonly seen: {
    readonly method: string;
    readonly url: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  }[];
  /** Sets the share of requests that meet a fault; at 0 the proxy only forwards. */
  setRate(rate: number): void;
  /** Flips one byte (the one at `at`, or the last) of the bodies of the next `count` requests that carry one. */
  damageBodies(count: number, at?: number): void;
  /** Bodies damaged so far. */
  damaged: number;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function errorXml(res: ServerResponse, status: number, code: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message><RequestId>fault</RequestId></Error>`,
  );
}

/** `only`: the faults to choose from (default all). */
export async function startFaultInjector(options: {
  target: string;
  rate: number;
  seed: number;
  only?: readonly Fault[];
}): Promise<FaultInjector> {
  const faults = options.only ?? FAULTS;
  const target = new URL(options.target);
  const random = seeded(options.seed);
  const sockets = new Set<Socket>();
  const injected = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>;
  let rate = options.rate;
  let toDamage = { count: 0, at: 0 };

  const forward = (req: IncomingMessage, res: ServerResponse, cutHalfway: boolean) => {
    const headers = { ...req.headers };
    delete headers.expect; // this server already answered 100 Continue itself
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (!cutHalfway) {
        answer.pipe(res);
        return;
      }
      const length = Number(answer.headers['content-length'] ?? 0);
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent + chunk.length >= length / 2) {
          res.write(chunk.subarray(0, Math.max(0, Math.floor(length / 2) - sent)));
          res.flushHeaders();
          setImmediate(() => req.socket.resetAndDestroy());
          answer.destroy();
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      answer.on('end', () => req.socket.resetAndDestroy());
    });
    upstream.on('error', () => req.socket.destroy());
    const length = Number(req.headers['content-length'] ?? 0);
    if (toDamage.count > 0 && length > 0) {
      toDamage.count--;
      proxy.damaged++;
      req.pipe(flipByte(Math.min(toDamage.at, length - 1))).pipe(upstream);
    } else {
      req.pipe(upstream);
    }
  };

  const server = createServer((req, res) => {
    proxy.requests++;
    proxy.methods[req.method!] = (proxy.methods[req.method!] ?? 0) + 1;
    proxy.seen.push({ method: req.method!, url: req.url!, headers: { ...req.headers } });
    const fault = random() < rate ? faults[Math.floor(random() * faults.length)]! : undefined;
    if (fault) injected[fault]++;
    switch (fault) {
      case undefined:
        return forward(req, res, false);
      case 'reset-during':
        return forward(req, res, true);
      case 'reset-before':
        return void req.socket.resetAndDestroy();
      case 'stall':
        return void req.resume(); // read the request, never answer
      case 'internal-error':
        req.resume();
        return void req.on('end', () => errorXml(res, 500, 'InternalError'));
      case 'slow-down':
        req.resume();
        return void req.on('end', () => errorXml(res, 503, 'SlowDown'));
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: FaultInjector = {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    requests: 0,
    methods: {},
    seen: [],
    setRate: (r) => (rate = r),
    damageBodies: (count, at = 1000) => void (toDamage = { count, at }),
    damaged: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

/** Passes a stream through with the byte at `position` inverted. */
function flipByte(position: number): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (position >= at && position < at + chunk.length) {
        chunk = Buffer.from(chunk);
        flipBits(chunk, position - at);
      }
      at += chunk.length;
      done(null, chunk);
    },
  });
}
