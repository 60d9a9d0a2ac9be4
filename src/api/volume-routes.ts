// Volumes and snapshots over HTTP/JSON: the VolumeService's requests, its
// refusals with their code and message, the status saying what kind they are.
import { z } from 'zod';
import { VolumeServiceError, type VolumeErrorCode, type VolumeService } from '../volume/volume-service.ts';
import { HttpError, optionalBody, validateBody } from './http.ts';
import type { Route, RouteReply, RouteRequest } from './router.ts';

function statusOf(code: VolumeErrorCode): number {
  if (code.endsWith('NOT_FOUND')) return 404;
  if (code.startsWith('INVALID_')) return 400;
  return 409;
}

const chap = z.strictObject(
  {
    user: z.string({ error: 'must be a user name as a string' }).min(1, { error: 'must not be empty' }),
    secret: z
      .string({ error: 'must be a string of 12 to 16 bytes' })
      .refine((s) => Buffer.byteLength(s) >= 12 && Buffer.byteLength(s) <= 16, {
        error: 'must be 12 to 16 bytes, as Windows and AWS require',
      }),
  },
  { error: 'must be an object such as {"user":"backup","secret":"a-12-16-byte-secret"}' },
);

const createVolume = z.strictObject({
  name: z.string({ error: 'must be a string such as "db-01"' }),
  type: z.enum(['cached', 'stored'], { error: 'must be "cached" or "stored"' }),
  sizeBytes: z
    .number({ error: 'must be the size in bytes as a number, e.g. 10737418240 for 10 GiB' })
    .int({ error: 'must be a whole number of bytes' })
    .positive({ error: 'must be more than 0 bytes' })
    .optional(),
  blockSize: z.union([z.literal(512), z.literal(4096)], { error: 'must be 512 or 4096' }).optional(),
  fromSnapshot: z.string({ error: 'must be a snapshot id such as "snap-0123456789abcdef"' }).optional(),
  auth: z
    .strictObject({ chap, mutualChap: chap.optional() }, { error: 'must be {"chap":{...}} or {"chap":{...},"mutualChap":{...}}' })
    .refine((a) => !a.mutualChap || a.mutualChap.secret !== a.chap.secret, {
      error: 'the mutual CHAP secret must differ from the one-way secret',
    })
    .optional(),
  allowedInitiators: z
    .array(z.string({ error: 'must be initiator names such as "iqn.1993-08.org.debian:01:host"' }), {
      error: 'must be a list of initiator names',
    })
    .optional(),
});
const CREATE_EXAMPLE = '{"name":"db-01","type":"cached","sizeBytes":10737418240}';

const deleteVolume = z.strictObject({ force: z.boolean({ error: 'must be true or false' }).optional() });
const DELETE_EXAMPLE = '{"force":true} (or no body)';

const schedule = z.strictObject({
  everySeconds: z.union([z.number().int().positive(), z.null()], { error: 'must be a whole number of seconds, or null for no schedule' }),
});
const SCHEDULE_EXAMPLE = '{"everySeconds":86400} or {"everySeconds":null}';

const createSnapshot = z.strictObject({ description: z.string({ error: 'must be a string' }).optional() });
const SNAPSHOT_EXAMPLE = '{"description":"before the upgrade"} (or no body)';

export function volumeRoutes(service: VolumeService): Route[] {
  const name = (request: RouteRequest) => request.params['name']!;
  const id = (request: RouteRequest) => request.params['id']!;
  return [
    { method: 'GET', path: '/volumes', handle: refusals(async () => ({ status: 200, body: { volumes: await service.listVolumes() } })) },
    {
      method: 'POST',
      path: '/volumes',
      handle: refusals(async (request) => {
        const body = validateBody(createVolume, await request.body(), CREATE_EXAMPLE);
        return { status: 201, body: await service.createVolume(withoutUndefined(body)) };
      }),
    },
    {
      method: 'GET',
      path: '/volumes/:name',
      handle: refusals(async (request) => ({ status: 200, body: await service.describeVolume(name(request)) })),
    },
    {
      method: 'DELETE',
      path: '/volumes/:name',
      handle: refusals(async (request) => {
        const { force } = await optionalBody(request, deleteVolume, DELETE_EXAMPLE);
        await service.deleteVolume(name(request), { force: force ?? false });
        return { status: 204 };
      }),
    },
    {
      method: 'POST',
      path: '/volumes/:name/schedule',
      handle: refusals(async (request) => {
        const { everySeconds } = validateBody(schedule, await request.body(), SCHEDULE_EXAMPLE);
        return { status: 200, body: await service.setSchedule(name(request), everySeconds === null ? null : everySeconds * 1000) };
      }),
    },
    {
      method: 'POST',
      path: '/volumes/:name/snapshots',
      handle: refusals(async (request) => {
        const { description } = await optionalBody(request, createSnapshot, SNAPSHOT_EXAMPLE);
        return { status: 202, body: await service.createSnapshot(name(request), description === undefined ? {} : { description }) };
      }),
    },
    {
      method: 'GET',
      path: '/volumes/:name/snapshots',
      handle: refusals(async (request) => ({ status: 200, body: { snapshots: await service.listSnapshots({ volume: name(request) }) } })),
    },
    {
      method: 'GET',
      path: '/snapshots',
      handle: refusals(async () => ({ status: 200, body: { snapshots: await service.listSnapshots() } })),
    },
    {
      method: 'POST',
      path: '/snapshots/import',
      handle: refusals(async () => ({ status: 200, body: { snapshots: await service.importSnapshots() } })),
    },
    {
      method: 'GET',
      path: '/snapshots/:id',
      handle: refusals(async (request) => ({ status: 200, body: await service.describeSnapshot(id(request)) })),
    },
    {
      method: 'DELETE',
      path: '/snapshots/:id',
      handle: refusals(async (request) => {
        await service.deleteSnapshot(id(request));
        return { status: 204 };
      }),
    },
  ];
}

/** The body without keys set to undefined (the service's optional fields are absent, not undefined). */
function withoutUndefined<T extends object>(body: T): T {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as T;
}

function refusals(handle: (request: RouteRequest) => Promise<RouteReply>): (request: RouteRequest) => Promise<RouteReply> {
  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      if (error instanceof VolumeServiceError) throw new HttpError(statusOf(error.code), error.code, error.message);
      throw error;
    }
  };
}
