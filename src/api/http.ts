// The HTTP/JSON pieces every route of the management API shares: bounded
// request bodies, JSON answers, and errors that carry a code for scripts and a
// message that tells a person what to send instead.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

/** Management requests are small; anything bigger is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The body of every error answer. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The parsed JSON body, or undefined when the request has none. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const tooLarge = () =>
    new HttpError(413, 'BODY_TOO_LARGE', `the request body is larger than ${limit} bytes: send only the fields the route takes`);
  if (Number(req.headers['content-length']) > limit) throw tooLarge();
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error) {
        // Stop reading; the answer closes the connection (see sendJson).
        req.pause();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined);
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error('the client went away before sending the whole body'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, 'INVALID_JSON', `the request body is not JSON (${(error as Error).message}): send a JSON object`);
  }
}

/** `value` checked against `schema`, or a 400 naming each wrong field and an example of a good body. */
export function validateBody<T>(schema: z.ZodType<T>, value: unknown, example: string): T {
  if (value === undefined) throw new HttpError(400, 'INVALID_REQUEST', `the request has no body: send a JSON object such as ${example}`);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys')
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
  });
  throw new HttpError(400, 'INVALID_REQUEST', `${problems.join('; ')}; send e.g. ${example}`);
}

/** A body that may be left out: none reads as {}. */
export async function optionalBody<T extends object>(
  request: { body(): Promise<unknown> },
  schema: z.ZodType<T>,
  example: string,
): Promise<Partial<T>> {
  const body = await request.body();
  return body === undefined ? {} : validateBody(schema, body, example);
}

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  // A body left unread (refused early) would be taken for the next request on a kept-alive connection.
  const close = req.complete ? {} : { connection: 'close' };
  if (body === undefined) {
    res.writeHead(status, { ...headers, ...close }).end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
      ...close,
    })
    .end(text);
}

/**
 * A 200 with an ETag, or a 304 without a body when the client already holds
 * this answer (If-None-Match): the console polls, and most polls find nothing changed.
 */
export function sendJsonOrNotModified(req: IncomingMessage, res: ServerResponse, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag }).end();
    return;
  }
  res
    .writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), etag })
    .end(text);
}

export function sendError(req: IncomingMessage, res: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  sendJson(req, res, error.status, body, headers);
}
