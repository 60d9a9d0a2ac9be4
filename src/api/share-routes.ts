// The file shares' routes: the ShareService over HTTP/JSON. Refusals keep their
// code and message; the status says what kind they are.
import { z } from 'zod';
import { ShareServiceError, type ShareErrorCode, type ShareInfo, type ShareService } from '../share/share-service.ts';
import { HttpError, validateBody } from './http.ts';
import type { Route, RouteReply, RouteRequest } from './router.ts';

const STATUS: Record<ShareErrorCode, number> = { INVALID_SHARE: 400, SHARE_NOT_FOUND: 404, DUPLICATE_SHARE: 409, PATH_NOT_FOUND: 404 };

const id = (what: string) =>
  z
    .number({ error: `must be ${what} as a number, e.g. 65534` })
    .int({ error: 'must be a whole number' })
    .optional();
const mode = (example: string) =>
  z
    .number({ error: `must be a mode as a number, e.g. ${example}` })
    .int({ error: 'must be a whole number' })
    .optional();
const createShare = z.strictObject({
  name: z.string({ error: 'must be a string such as "files"' }),
  bucket: z.string({ error: 'must be the bucket name as a string, e.g. "my-files"' }),
  prefix: z.string({ error: 'must be a key prefix as a string, e.g. "site-a/"' }).optional(),
  readOnly: z.boolean({ error: 'must be true or false' }).optional(),
  squash: z.enum(['root', 'all', 'none'], { error: 'must be "root", "all" or "none"' }).optional(),
  clients: z
    .array(z.string({ error: 'must be an address or CIDR block such as "10.0.0.0/8"' }), { error: 'must be a list such as ["10.0.0.0/8"]' })
    .optional(),
  cacheStaleTimeoutSeconds: z
    .number({ error: 'must be a number of seconds, e.g. 300' })
    .int({ error: 'must be a whole number of seconds' })
    .optional(),
  fileMode: mode('420 (0644)'),
  directoryMode: mode('493 (0755)'),
  ownerUid: id('a uid'),
  ownerGid: id('a gid'),
  anonUid: id('a uid'),
  anonGid: id('a gid'),
  settleSeconds: z.number({ error: 'must be a number of seconds, e.g. 5' }).optional(),
});
const CREATE_EXAMPLE =
  '{"name":"files","bucket":"my-files","prefix":"site-a/","squash":"root","clients":["10.0.0.0/8"],"cacheStaleTimeoutSeconds":300}';
const refresh = z.strictObject({
  path: z.string({ error: 'must be a directory path in the share, e.g. "projects/2026"' }).optional(),
  recursive: z.boolean({ error: 'must be true or false' }).optional(),
});
const waitUploaded = z.strictObject({
  timeoutSeconds: z
    .number({ error: 'must be a number of seconds, e.g. 20' })
    .min(0, { error: 'must be 0 or more' })
    .max(60, { error: 'must be at most 60: call again to wait longer' })
    .optional(),
});
const WAIT_EXAMPLE = '{"timeoutSeconds":20} (or no body: 20 seconds)';
const REFRESH_EXAMPLE = '{"path":"projects","recursive":true} (or no body for the whole share\'s top directory)';

/** A share as the API answers it: with the command a client mounts it by. */
export interface ShareAnswer extends ShareInfo {
  readonly mount: string;
}

export function shareRoutes(service: ShareService, mountCommand: (exportPath: string) => string): Route[] {
  const name = (request: RouteRequest) => request.params['name']!;
  const answer = (share: ShareInfo): ShareAnswer => ({ ...share, mount: mountCommand(share.exportPath) });
  return [
    {
      method: 'POST',
      path: '/shares',
      handle: refusals(async (request) => ({
        status: 201,
        body: answer(await service.create(validateBody(createShare, await request.body(), CREATE_EXAMPLE))),
      })),
    },
    { method: 'GET', path: '/shares', handle: refusals(async () => ({ status: 200, body: { shares: service.list().map(answer) } })) },
    {
      method: 'GET',
      path: '/shares/:name',
      handle: refusals(async (request) => ({ status: 200, body: answer(service.describe(name(request))) })),
    },
    {
      method: 'DELETE',
      path: '/shares/:name',
      handle: refusals(async (request) => {
        await service.delete(name(request));
        return { status: 204 };
      }),
    },
    {
      method: 'POST',
      path: '/shares/:name/refresh',
      handle: refusals(async (request) => {
        const body = await request.body();
        const options = body === undefined ? {} : validateBody(refresh, body, REFRESH_EXAMPLE);
        return { status: 200, body: await service.refresh(name(request), options) };
      }),
    },
    {
      method: 'POST',
      path: '/shares/:name/wait-uploaded',
      // Answers within the timeout either way, so that no HTTP client times out: "uploaded" says which.
      handle: refusals(async (request) => {
        const body = await request.body();
        const { timeoutSeconds = 20 } = body === undefined ? {} : validateBody(waitUploaded, body, WAIT_EXAMPLE);
        const uploaded = await service.waitUploaded(name(request), timeoutSeconds * 1000);
        return { status: 200, body: { uploaded, share: answer(service.describe(name(request))) } };
      }),
    },
  ];
}

function refusals(handle: (request: RouteRequest) => Promise<RouteReply>): (request: RouteRequest) => Promise<RouteReply> {
  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      if (error instanceof ShareServiceError) throw new HttpError(STATUS[error.code], error.code, error.message);
      throw error;
    }
  };
}
