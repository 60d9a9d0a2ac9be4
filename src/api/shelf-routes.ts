// The vault shelf's routes: the ShelfService over HTTP/JSON. Refusals of the
// shelf, and of the pool rules it applies (a retention lock), keep their code
// and message; the status says what kind they are.
import { z } from 'zod';
import { ShelfServiceError, type ShelfErrorCode, type ShelfService } from '../shelf/shelf-service.ts';
import { TapeServiceError, type TapeErrorCode } from '../tape/tape-service.ts';
import { HttpError, optionalBody } from './http.ts';
import { barcodeParam as barcode } from './params.ts';
import type { Route, RouteReply, RouteRequest } from './router.ts';

/** Both services name their refusals alike: …_NOT_FOUND, INVALID_…, and the rest conflict with the state of things. */
function statusOf(code: ShelfErrorCode | TapeErrorCode): number {
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code.startsWith('INVALID_')) return 400;
  return 409;
}

const retrieve = z.strictObject({
  tier: z.enum(['Expedited', 'Standard', 'Bulk'], { error: 'must be "Expedited", "Standard" or "Bulk"' }).optional(),
});
const RETRIEVE_EXAMPLE = '{"tier":"Standard"} (or no body for the gateway\'s default tier)';
const remove = z.strictObject({ bypassGovernanceRetention: z.boolean({ error: 'must be true or false' }).optional() });
const REMOVE_EXAMPLE = '{"bypassGovernanceRetention":true} (or no body)';

export function shelfRoutes(service: ShelfService): Route[] {
  return [
    { method: 'GET', path: '/shelf', handle: refusals(async () => ({ status: 200, body: { tapes: await service.listShelf() } })) },
    {
      method: 'GET',
      path: '/shelf/:barcode',
      handle: refusals(async (request) => ({ status: 200, body: await service.describeShelfTape(barcode(request)) })),
    },
    {
      method: 'POST',
      path: '/tapes/:barcode/archive',
      handle: refusals(async (request) => ({ status: 202, body: await service.archiveTape(barcode(request)) })),
    },
    {
      method: 'POST',
      path: '/shelf/:barcode/cancel-archival',
      handle: refusals(async (request) => {
        await service.cancelArchival(barcode(request));
        return { status: 204 };
      }),
    },
    {
      method: 'POST',
      path: '/shelf/:barcode/retrieve',
      handle: refusals(async (request) => {
        const { tier } = await optionalBody(request, retrieve, RETRIEVE_EXAMPLE);
        return { status: 202, body: await service.retrieveTape({ barcode: barcode(request), ...(tier ? { tier } : {}) }) };
      }),
    },
    {
      method: 'POST',
      path: '/shelf/:barcode/cancel-retrieval',
      handle: refusals(async (request) => ({ status: 200, body: await service.cancelRetrieval(barcode(request)) })),
    },
    {
      method: 'DELETE',
      path: '/shelf/:barcode',
      handle: refusals(async (request) => {
        await service.deleteArchive(barcode(request), await optionalBody(request, remove, REMOVE_EXAMPLE));
        return { status: 204 };
      }),
    },
  ];
}

function refusals(handle: (request: RouteRequest) => Promise<RouteReply>): (request: RouteRequest) => Promise<RouteReply> {
  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      if (error instanceof ShelfServiceError || error instanceof TapeServiceError)
        throw new HttpError(statusOf(error.code), error.code, error.message);
      throw error;
    }
  };
}
