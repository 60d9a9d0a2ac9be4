// The management HTTP endpoint, on loopback by default: Prometheus metrics, a
// health check and the web console's files for anyone who can reach it, and
// the operator's routes (the tape library, the vault shelf, file shares,
// volumes and snapshots, the cache and the metrics' recent history) for
// holders of the bearer token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DamagedDataError, ObjectStoreUnavailableError } from '../cache/errors.ts';
import type { Logger } from '../log.ts';
import type { ShareService } from '../share/share-service.ts';
import type { ShelfService } from '../shelf/shelf-service.ts';
import type { TapeService } from '../tape/tape-service.ts';
import type { VolumeService } from '../volume/volume-service.ts';
import { loadConsoleFiles } from './console-files.ts';
import { bearerMatches } from './credentials.ts';
import { HttpError, readJsonBody, sendError, sendJson, sendJsonOrNotModified } from './http.ts';
import { MetricsHistory, type MetricsHistoryOptions } from './metrics-history.ts';
import { Router, type Route } from './router.ts';
import { shareRoutes } from './share-routes.ts';
import { shelfRoutes } from './shelf-routes.ts';
import { statsRoutes, type CacheSource } from './stats-routes.ts';
import { tapeRoutes } from './tape-routes.ts';
import { volumeRoutes } from './volume-routes.ts';

export interface ApiServer {
  /** http(s)://host:port, an address a client on this machine can connect to. */
  readonly url: string;
  close(): Promise<void>;
}

/** The bearer token as it is now: rotating it replaces it at once. */
export interface TokenSource {
  current(): string;
  /** Replaces the token (and publishes the new one); absent: the token cannot be rotated. */
  rotate?(): Promise<string>;
}

interface BaseOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** The web console's built files, served with the operator's routes; default console/dist. */
  readonly consoleDir?: string;
  /** PEM certificate (with its chain) and key: the server speaks HTTPS. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

interface ManagementOptions {
  readonly tapes: TapeService;
  /** Adds the vault shelf's routes. */
  readonly shelf?: ShelfService;
  /** Adds the file shares' routes; `mountCommand` says how a client mounts an export path. */
  readonly shares?: { readonly service: ShareService; readonly mountCommand: (exportPath: string) => string };
  /** Adds the routes of volumes and snapshots. */
  readonly volumes?: VolumeService;
  /** Adds GET /cache. */
  readonly cache?: CacheSource;
  /** How often the metrics' history is sampled and how far back it goes (GET /metrics/history). */
  readonly history?: MetricsHistoryOptions;
  readonly token: string | TokenSource;
}

/** Without `tapes` and `token` the server answers only /metrics and /health. */
export type ApiServerOptions = BaseOptions & (ManagementOptions | { readonly [K in keyof ManagementOptions]?: undefined });

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { logger } = options;
  const management = options.tapes ? managementOf(options, logger) : undefined;
  // The console signs in against the operator's routes: without them it has nothing to show.
  const consoleFiles = management ? await loadConsoleFiles(options.consoleDir) : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (method === 'GET' && consoleFiles?.serve(req, res, path)) return;
    if (method === 'GET' && path === '/metrics') {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType }).end(text);
      return;
    }
    if (method === 'GET' && path === '/health') {
      sendJson(req, res, 200, { status: 'ok' });
      return;
    }
    if (!management) throw new HttpError(404, 'NOT_FOUND', `no such path ${path}: this server answers only GET /metrics and GET /health`);
    if (!bearerMatches(req.headers.authorization, management.token.current())) {
      throw new HttpError(
        401,
        'UNAUTHORIZED',
        "send 'Authorization: Bearer TOKEN' with the token from api.json in the gateway's data directory",
      );
    }
    const { route, params } = management.router.match(method, path);
    const query = new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
    const reply = await route.handle({ params, query, body: () => readJsonBody(req) });
    if (method === 'GET' && reply.status === 200) sendJsonOrNotModified(req, res, reply.body);
    else sendJson(req, res, reply.status, reply.body);
    if (method !== 'GET') logger.info({ method, path, status: reply.status }, 'management request');
  };

  const respond = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        logger.error({ err: error, method: req.method, url: req.url }, 'management request failed after answering');
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendError(req, res, error, error.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
        if (req.method !== 'GET')
          logger.info({ method: req.method, url: req.url, status: error.status, code: error.code }, 'management request refused');
        return;
      }
      const unavailable = causeOfType(error, ObjectStoreUnavailableError);
      if (unavailable) {
        logger.warn(
          { err: error, method: req.method, url: req.url, location: unavailable.location },
          'management request failed: the object store is unavailable',
        );
        const why = lastAnswer(unavailable);
        sendError(
          req,
          res,
          new HttpError(
            503,
            'OBJECT_STORE_UNAVAILABLE',
            `the object store at ${unavailable.location} is unavailable (${why}), and the gateway gave up retrying: check that the endpoint answers (s3.endpoint) and the network between them, then try again`,
          ),
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
        return;
      }
      const damaged = causeOfType(error, DamagedDataError);
      if (damaged) {
        // Refused rather than served: bytes failing their checksums, or encrypted under a key this gateway lacks.
        logger.error(
          { err: error, method: req.method, url: req.url, key: damaged.key },
          'management request failed: data in the cloud cannot be served',
        );
        sendError(req, res, new HttpError(500, 'DATA_UNREADABLE', damaged.message));
        return;
      }
      logger.error({ err: error, method: req.method, url: req.url }, 'management request failed');
      sendError(req, res, new HttpError(500, 'INTERNAL', "the gateway failed to answer; see the gateway's log"));
    });
  };
  const server: Server = options.tls
    ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, respond)
    : createServer(respond);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  logger.info(
    { address: address.address, port: address.port, management: management !== undefined, tls: options.tls !== undefined },
    'management API listening',
  );
  management?.history.start();
  return {
    url: `${options.tls ? 'https' : 'http'}://${reachableHost(address.address)}:${address.port}`,
    close: async () => {
      await management?.history.stop();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function managementOf(options: BaseOptions & ManagementOptions, logger: Logger) {
  const history = new MetricsHistory(options.registry, logger, options.history);
  const routes = [
    ...tapeRoutes(options.tapes),
    ...(options.shelf ? shelfRoutes(options.shelf) : []),
    ...(options.shares ? shareRoutes(options.shares.service, options.shares.mountCommand) : []),
    ...(options.volumes ? volumeRoutes(options.volumes) : []),
    ...statsRoutes({ history, cache: options.cache }),
  ];
  const token: TokenSource = typeof options.token === 'string' ? { current: constant(options.token) } : options.token;
  return { token, router: new Router([...routes, ...tokenRoutes(token)]), history };
}

/** A wildcard listen address is reached through loopback; IPv6 literals go in brackets. */
function reachableHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

const constant = (value: string) => () => value;

/** How long a 503 suggests waiting before asking again. */
const RETRY_AFTER_SECONDS = 30;

/** What the store last answered, from the end of `error`'s chain of causes: "HTTP 503 SlowDown", or why nothing came back. */
function lastAnswer(error: Error): string {
  let at = error;
  for (let depth = 0; at.cause instanceof Error && depth < 8; depth++) at = at.cause;
  const status = (at as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined) return at.message;
  // The SDK names an error without a body (a HEAD's) UnknownError.
  return ['Unknown', 'UnknownError', 'Error'].includes(at.name) ? `it answered HTTP ${status}` : `it answered HTTP ${status} ${at.name}`;
}

/** `error` or the first error of its chain of causes that is a `type`. */
function causeOfType<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let at = error, depth = 0; at instanceof Error && depth < 8; at = at.cause, depth++) if (at instanceof type) return at;
  return undefined;
}

/** POST /token/rotate: a new token replaces the one the request carried, which stops working at once. */
function tokenRoutes(token: TokenSource): Route[] {
  const rotate = token.rotate?.bind(token);
  if (!rotate) return [];
  return [{ method: 'POST', path: '/token/rotate', handle: async () => ({ status: 200, body: { token: await rotate() } }) }];
}
