// Test stand-in for the vault shelf, for CLI formatting and exit-code tests
// until the real shelf routes arrive: an in-memory shelf over the tape
// stand-in, where each look at a moving cartridge takes it `step` percent
// further, and the shelf routes of the HTTP contract (the real ones are
// src/api/shelf-routes.ts) served beside the tape routes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { bearerMatches } from '../../src/api/credentials.ts';
import { HttpError, readJsonBody, sendError, sendJson, validateBody } from '../../src/api/http.ts';
import { Router, type Route, type RouteReply, type RouteRequest } from '../../src/api/router.ts';
import { tapeRoutes } from '../../src/api/tape-routes.ts';
import {
  ShelfServiceError,
  type RetrieveTapeRequest,
  type ShelfErrorCode,
  type ShelfService,
  type ShelfTapeInfo,
} from '../../src/shelf/shelf-service.ts';
import { checkDeletable } from '../../src/tape/pools.ts';
import { TapeServiceError, type DeleteTapeOptions, type TapeInfo } from '../../src/tape/tape-service.ts';
import type { StandInTapeService } from '../api/tape-service-stand-in.ts';

interface Entry {
  info: ShelfTapeInfo;
  /** The tape as it was in the library, for a cancelled archival. */
  readonly tape: TapeInfo;
}

export class StandInShelfService implements ShelfService {
  private readonly shelf = new Map<string, Entry>();
  /** Barcodes whose archival or retrieval fails for good, with the reason. */
  readonly failures = new Map<string, string>();

  constructor(
    private readonly tapes: StandInTapeService,
    private readonly step = 50,
  ) {}

  async archiveTape(barcode: string): Promise<ShelfTapeInfo> {
    const tape = shelfRefusal(() => this.tapes.take(barcode));
    const { status: _, location: __, ...kept } = tape;
    const info: ShelfTapeInfo = { ...kept, status: 'IN_TRANSIT_TO_VTS', progress: 0 };
    this.shelf.set(barcode, { info, tape });
    return info;
  }

  async cancelArchival(barcode: string): Promise<void> {
    const entry = this.entry(barcode);
    if (entry.info.status !== 'IN_TRANSIT_TO_VTS' && entry.info.status !== 'ARCHIVING') {
      throw new ShelfServiceError(
        'NOT_ARCHIVING',
        `tape ${barcode} is ${entry.info.status}, not being archived: there is nothing to cancel`,
      );
    }
    this.shelf.delete(barcode);
    this.tapes.putBack(entry.tape);
  }

  async retrieveTape(request: RetrieveTapeRequest): Promise<ShelfTapeInfo> {
    const entry = this.entry(request.barcode);
    if (entry.info.status !== 'ARCHIVED')
      throw new ShelfServiceError(
        'NOT_ARCHIVED',
        `tape ${request.barcode} is ${entry.info.status}, not ARCHIVED: only archived tapes can be retrieved`,
      );
    entry.info = { ...entry.info, status: 'RETRIEVING', progress: 0 };
    return entry.info;
  }

  async cancelRetrieval(barcode: string): Promise<ShelfTapeInfo> {
    const entry = this.entry(barcode);
    if (entry.info.status !== 'RETRIEVING')
      throw new ShelfServiceError('NOT_RETRIEVING', `tape ${barcode} is ${entry.info.status}, not being retrieved`);
    const { progress: _, ...rest } = entry.info;
    entry.info = { ...rest, status: 'ARCHIVED' };
    return entry.info;
  }

  async listShelf(): Promise<ShelfTapeInfo[]> {
    return [...this.shelf.values()].map((entry) => this.advance(entry));
  }

  async describeShelfTape(barcode: string): Promise<ShelfTapeInfo> {
    return this.advance(this.entry(barcode));
  }

  async deleteArchive(barcode: string, options?: DeleteTapeOptions): Promise<void> {
    const entry = this.entry(barcode);
    if (entry.info.status !== 'ARCHIVED')
      throw new ShelfServiceError(
        'NOT_ARCHIVED',
        `tape ${barcode} is ${entry.info.status}, not ARCHIVED: cancel its archival or retrieval first`,
      );
    const pool = await this.tapes.describePool(entry.info.pool);
    shelfRefusal(() => checkDeletable(entry.info, pool, options));
    this.shelf.delete(barcode);
  }

  private entry(barcode: string): Entry {
    const entry = this.shelf.get(barcode);
    if (!entry) throw new ShelfServiceError('TAPE_NOT_FOUND', `there is no tape ${barcode} on the shelf: list it with tapegw shelf list`);
    return entry;
  }

  private advance(entry: Entry): ShelfTapeInfo {
    const { info } = entry;
    if (info.progress === undefined) return info;
    const failure = this.failures.get(info.barcode);
    const { progress: _, ...rest } = info;
    if (failure !== undefined) {
      entry.info = { ...rest, status: 'IRRECOVERABLE', error: failure };
    } else if (info.progress + this.step < 100) {
      entry.info = { ...info, progress: info.progress + this.step };
    } else if (info.status === 'IN_TRANSIT_TO_VTS') {
      entry.info = { ...info, status: 'ARCHIVING', progress: 0 };
    } else if (info.status === 'ARCHIVING') {
      entry.info = { ...rest, status: 'ARCHIVED', archivedAt: '2026-11-22T06:00:00.000Z', archiveBytes: info.usedBytes };
    } else {
      entry.info = {
        ...rest,
        status: 'RETRIEVED',
        retrievedAt: '2026-11-22T07:00:00.000Z',
        location: { kind: 'import-export', index: 1, address: 768 },
      };
    }
    return entry.info;
  }
}

/** The tape stand-in's refusals, as the shelf's. */
function shelfRefusal<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof TapeServiceError) throw new ShelfServiceError(error.code as ShelfErrorCode, error.message);
    throw error;
  }
}

const STATUS: Record<ShelfErrorCode, number> = {
  TAPE_NOT_FOUND: 404,
  NOT_ARCHIVED: 409,
  NOT_ARCHIVING: 409,
  NOT_RETRIEVING: 409,
  TAPE_IN_DRIVE: 409,
  NO_FREE_SLOT: 409,
  INVALID_TIER: 400,
  RETENTION_LOCKED: 409,
};
const retrieveBody = z.strictObject({ tier: z.enum(['Expedited', 'Standard', 'Bulk']).optional() });
const deleteBody = z.strictObject({ bypassGovernanceRetention: z.boolean().optional() });

/** The shelf routes of the HTTP contract over a ShelfService. */
function shelfRoutes(shelf: ShelfService): Route[] {
  const route = (
    method: Route['method'],
    path: string,
    handle: (request: RouteRequest, barcode: string) => Promise<RouteReply>,
  ): Route => ({
    method,
    path,
    handle: async (request) => {
      try {
        return await handle(request, request.params['barcode'] ?? '');
      } catch (error) {
        if (error instanceof ShelfServiceError) throw new HttpError(STATUS[error.code], error.code, error.message);
        throw error;
      }
    },
  });
  const optionalBody = async <T>(request: RouteRequest, schema: z.ZodType<T>): Promise<T | undefined> => {
    const body = await request.body();
    return body === undefined ? undefined : validateBody(schema, body, '{}');
  };
  return [
    route('GET', '/shelf', async () => ({ status: 200, body: { tapes: await shelf.listShelf() } })),
    route('GET', '/shelf/:barcode', async (_, barcode) => ({ status: 200, body: await shelf.describeShelfTape(barcode) })),
    route('POST', '/tapes/:barcode/archive', async (_, barcode) => ({ status: 202, body: await shelf.archiveTape(barcode) })),
    route('POST', '/shelf/:barcode/cancel-archival', async (_, barcode) => (await shelf.cancelArchival(barcode), { status: 204 })),
    route('POST', '/shelf/:barcode/retrieve', async (request, barcode) => {
      const body = await optionalBody(request, retrieveBody);
      return { status: 202, body: await shelf.retrieveTape({ barcode, ...(body?.tier ? { tier: body.tier } : {}) }) };
    }),
    route('POST', '/shelf/:barcode/cancel-retrieval', async (_, barcode) => ({ status: 200, body: await shelf.cancelRetrieval(barcode) })),
    route(
      'DELETE',
      '/shelf/:barcode',
      async (request, barcode) => (await shelf.deleteArchive(barcode, (await optionalBody(request, deleteBody)) ?? {}), { status: 204 }),
    ),
  ];
}

export interface StandInServer {
  readonly url: string;
  /** Every request the server answered: "METHOD /path body". */
  readonly requests: string[];
  close(): Promise<void>;
}

/** The tape routes and the shelf routes behind the bearer token, as the gateway's API serves them. */
export async function serveTapesAndShelf(tapes: StandInTapeService, shelf: ShelfService, token: string): Promise<StandInServer> {
  const router = new Router([...tapeRoutes(tapes), ...shelfRoutes(shelf)]);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    (async () => {
      if (!bearerMatches(req.headers.authorization, token)) throw new HttpError(401, 'UNAUTHORIZED', 'send the token');
      const { route, params } = router.match(req.method ?? 'GET', path);
      let body: unknown;
      const reply = await route.handle({ params, query: new URLSearchParams(), body: async () => (body = await readJsonBody(req)) });
      requests.push(`${req.method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`);
      sendJson(req, res, reply.status, reply.body);
    })().catch((error: unknown) => sendError(req, res, error instanceof HttpError ? error : new HttpError(500, 'INTERNAL', String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
