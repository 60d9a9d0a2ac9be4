// The tape library's routes: the TapeService over HTTP/JSON. Refusals of the
// service keep their code and message; the status says what kind they are.
import { z } from 'zod';
import { TapeServiceError, type TapeErrorCode, type TapeService } from '../tape/tape-service.ts';
import { HttpError, validateBody } from './http.ts';
import { barcodeParam } from './params.ts';
import type { Route, RouteReply, RouteRequest } from './router.ts';

const STATUS: Record<TapeErrorCode, number> = {
  INVALID_BARCODE: 400,
  INVALID_SIZE: 400,
  INVALID_COUNT: 400,
  TAPE_NOT_FOUND: 404,
  ELEMENT_NOT_FOUND: 404,
  DUPLICATE_BARCODE: 409,
  TAPE_IN_DRIVE: 409,
  NO_FREE_SLOT: 409,
  ELEMENT_FULL: 409,
  MOVE_REFUSED: 409,
  INVALID_POOL: 400,
  POOL_NOT_FOUND: 404,
  DUPLICATE_POOL: 409,
  POOL_IN_USE: 409,
  RETENTION_LOCKED: 409,
  TAPE_ON_SHELF: 409,
};

const sizeBytes = z
  .number({ error: 'must be the size in bytes as a number, e.g. 107374182400 for 100 GiB' })
  .int({ error: 'must be a whole number of bytes' })
  .positive({ error: 'must be more than 0 bytes' });
const common = {
  sizeBytes,
  pool: z
    .string({ error: 'must be the name of a pool as a string' })
    .min(1, { error: 'must not be empty; leave it out for the default pool' })
    .optional(),
  worm: z.boolean({ error: 'must be true or false' }).optional(),
};
const createOne = z.strictObject({ barcode: z.string({ error: 'must be a string such as "ABC123L5"' }), ...common });
const createMany = z.strictObject({
  count: z
    .number({ error: 'must be a number of tapes, e.g. 10' })
    .int({ error: 'must be a whole number' })
    .positive({ error: 'must be 1 or more' }),
  barcodePrefix: z.string({ error: 'must be a string of 1 to 4 letters, e.g. "ABC"' }),
  ...common,
});
const CREATE_ONE_EXAMPLE = '{"barcode":"ABC123L5","sizeBytes":107374182400}';
const CREATE_MANY_EXAMPLE = '{"count":10,"barcodePrefix":"ABC","sizeBytes":107374182400}';

const move = z.strictObject({
  to: z.strictObject(
    {
      kind: z.enum(['slot', 'drive', 'import-export'], { error: 'must be "slot", "drive" or "import-export"' }),
      index: z
        .number({ error: 'must be the element number, counting from 1' })
        .int({ error: 'must be a whole number' })
        .positive({ error: 'counts from 1' }),
    },
    { error: 'must be an object such as {"kind":"slot","index":12}' },
  ),
});
const MOVE_EXAMPLE = '{"to":{"kind":"drive","index":1}}';

const deleteTape = z.strictObject({ bypassGovernanceRetention: z.boolean({ error: 'must be true or false' }).optional() });
const DELETE_EXAMPLE = '{"bypassGovernanceRetention":true}, or no body';

const createPool = z.strictObject({
  name: z.string({ error: 'must be a string such as "finance-7y"' }),
  destination: z.discriminatedUnion(
    'kind',
    [
      z.strictObject({ kind: z.literal('vault'), vault: z.string({ error: 'must be the name of a Glacier vault as a string' }) }),
      z.strictObject({
        kind: z.literal('storage-class'),
        storageClass: z.enum(['GLACIER', 'DEEP_ARCHIVE'], { error: 'must be "GLACIER" or "DEEP_ARCHIVE"' }),
      }),
    ],
    { error: 'must be {"kind":"vault","vault":"NAME"} or {"kind":"storage-class","storageClass":"GLACIER"} (or "DEEP_ARCHIVE")' },
  ),
  retention: z
    .strictObject(
      {
        mode: z.enum(['NONE', 'GOVERNANCE', 'COMPLIANCE'], { error: 'must be "NONE", "GOVERNANCE" or "COMPLIANCE"' }),
        days: z.number({ error: 'must be a number of days, e.g. 2555 for 7 years' }).int({ error: 'must be a whole number of days' }),
      },
      { error: 'must be an object such as {"mode":"GOVERNANCE","days":2555}' },
    )
    .optional(),
});
const CREATE_POOL_EXAMPLE =
  '{"name":"finance-7y","destination":{"kind":"vault","vault":"finance"},"retention":{"mode":"COMPLIANCE","days":2555}}';

export function tapeRoutes(service: TapeService): Route[] {
  return [
    {
      method: 'POST',
      path: '/tapes',
      handle: refusals(async (request) => {
        const body = await request.body();
        const tapes =
          typeof body === 'object' && body !== null && 'barcode' in body
            ? [await service.createTape(validateBody(createOne, body, CREATE_ONE_EXAMPLE))]
            : await service.createTapes(validateBody(createMany, body, `${CREATE_MANY_EXAMPLE} or ${CREATE_ONE_EXAMPLE}`));
        return { status: 201, body: { tapes } };
      }),
    },
    { method: 'GET', path: '/tapes', handle: refusals(async () => ({ status: 200, body: { tapes: await service.listTapes() } })) },
    {
      method: 'GET',
      path: '/tapes/:barcode',
      handle: refusals(async (request) => ({ status: 200, body: await service.describeTape(barcodeParam(request)) })),
    },
    {
      method: 'DELETE',
      path: '/tapes/:barcode',
      handle: refusals(async (request) => {
        const barcode = barcodeParam(request);
        const body = await request.body();
        const options = body === undefined ? {} : validateBody(deleteTape, body, DELETE_EXAMPLE);
        await service.deleteTape(barcode, options);
        return { status: 204 };
      }),
    },
    {
      method: 'POST',
      path: '/tapes/:barcode/move',
      handle: refusals(async (request) => {
        const barcode = barcodeParam(request);
        const { to } = validateBody(move, await request.body(), MOVE_EXAMPLE);
        return { status: 200, body: await service.moveTape({ barcode, to }) };
      }),
    },
    {
      method: 'POST',
      path: '/tapes/:barcode/import',
      handle: refusals(async (request) => ({ status: 201, body: await service.importTape(barcodeParam(request)) })),
    },
    { method: 'GET', path: '/library', handle: refusals(async () => ({ status: 200, body: await service.libraryStatus() })) },
    {
      method: 'POST',
      path: '/pools',
      handle: refusals(async (request) => ({
        status: 201,
        body: await service.createPool(validateBody(createPool, await request.body(), CREATE_POOL_EXAMPLE)),
      })),
    },
    { method: 'GET', path: '/pools', handle: refusals(async () => ({ status: 200, body: { pools: await service.listPools() } })) },
    {
      method: 'GET',
      path: '/pools/:name',
      handle: refusals(async ({ params }) => ({ status: 200, body: await service.describePool(params['name']!) })),
    },
    {
      method: 'DELETE',
      path: '/pools/:name',
      handle: refusals(async ({ params }) => {
        await service.deletePool(params['name']!);
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
      if (error instanceof TapeServiceError) throw new HttpError(STATUS[error.code], error.code, error.message);
      throw error;
    }
  };
}
