// What every operation shares: the request in hand, names and ARNs, the
// answers (status, headers, JSON) and the checked reading of headers and bodies.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { receive } from './archive-io.ts';
import { GlacierError, invalid, missing } from './errors.ts';
import { tempPath } from './files.ts';

const MAX_JSON_BODY = 64 * 1024;

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  vault: string;
  /** The archive, upload, job or lock id of the path. */
  id: string;
  query: URLSearchParams;
}

/** The account's names for a vault and what it holds. */
export class Names {
  constructor(
    private readonly accountId: string,
    private readonly region: string,
  ) {}

  arn(vault: string): string {
    return `arn:aws:glacier:${this.region}:${this.accountId}:vaults/${vault}`;
  }

  path(vault: string, ...rest: string[]): string {
    return [`/${this.accountId}/vaults/${vault}`, ...rest].join('/');
  }
}

export function send(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

export function sendError(res: ServerResponse, error: GlacierError): void {
  json(res, error.status, { code: error.code, message: error.message, type: error.type });
}

export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function requiredHeader(req: IncomingMessage, name: string): string {
  const value = single(req.headers[name]);
  if (value === undefined) throw missing(`Required header or parameter ${name} is missing`);
  return value;
}

export function archiveDescription(req: IncomingMessage): string {
  const text = single(req.headers['x-amz-archive-description']) ?? '';
  if (text.length > 1024 || !/^[\x20-\x7e]*$/.test(text))
    throw invalid('Invalid archive description: up to 1024 printable ASCII characters');
  return text;
}

export function contentLength(req: IncomingMessage, max: number): number {
  const text = requiredHeader(req, 'content-length');
  const length = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(length > 0 && length <= max)) throw invalid(`Invalid Content-Length: ${text} (1 to ${max} bytes)`);
  return length;
}

export function treeHashHeader(req: IncomingMessage): string {
  const value = requiredHeader(req, 'x-amz-sha256-tree-hash');
  if (!/^[0-9a-f]{64}$/.test(value)) throw invalid(`Invalid x-amz-sha256-tree-hash: ${value.slice(0, 100)}`);
  return value;
}

export function checksumMismatch(calculated: string, provided: string): GlacierError {
  return invalid(`Checksum mismatch: expected ${provided} (provided), but calculated ${calculated}`);
}

/** A body received whole, its SHA-256 and tree hash compared with the declared ones. */
export async function receiveChecked(root: string, req: IncomingMessage, length: number) {
  const treeHash = treeHashHeader(req);
  const contentSha = requiredHeader(req, 'x-amz-content-sha256');
  const received = await receive(req, tempPath(root), length);
  try {
    if (received.sha256 !== contentSha)
      throw invalid(`Checksum mismatch: x-amz-content-sha256 ${contentSha} does not match the payload's SHA-256 ${received.sha256}`);
    if (received.treeHash !== treeHash) throw checksumMismatch(received.treeHash, treeHash);
  } catch (error) {
    await rm(received.path, { force: true });
    throw error;
  }
  return received;
}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const length = contentLength(req, MAX_JSON_BODY);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > length) throw invalid('Body longer than its Content-Length');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if (body.length !== length) throw invalid('Body shorter than its Content-Length');
  const declared = single(req.headers['x-amz-content-sha256']);
  if (declared === undefined || createHash('sha256').update(body).digest('hex') !== declared) {
    throw invalid('Checksum mismatch: x-amz-content-sha256 is missing or does not match the payload');
  }
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    if (value && typeof value === 'object') return value;
  } catch {
    // answered below
  }
  throw invalid('The request body is not a JSON object');
}

export function optionalString(params: Record<string, unknown>, name: string, max: number): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > max) throw invalid(`Invalid ${name}`);
  return value;
}

/** One page of a listing that starts at the item whose key is the marker. */
export function page<T>(
  all: T[],
  key: (item: T) => string,
  query: URLSearchParams,
  defaultLimit: number,
): { items: T[]; marker: string | null } {
  const limitText = query.get('limit');
  const limit = limitText === null ? defaultLimit : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid(`Invalid limit: ${limitText}`);
  const markerText = query.get('marker');
  const start = markerText === null ? 0 : all.findIndex((item) => key(item) === markerText);
  if (start < 0) throw invalid(`Invalid marker: ${markerText}`);
  const next = all[start + limit];
  return { items: all.slice(start, start + limit), marker: next === undefined ? null : key(next) };
}
