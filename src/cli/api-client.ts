// Requests to the gateway's management API. Answers that are errors become
// CliErrors: a 400 is the operator's input (exit 2), other refusals exit 1,
// and a gateway that does not answer exits 3.
import type { ErrorBody } from '../api/http.ts';
import { CliError, EXIT } from './errors.ts';
import type { GatewayAddress } from './gateway-address.ts';
import { CertificateMismatchError, send, type HttpReply } from './http-request.ts';

const TIMEOUT_MS = 30_000;

export class ApiClient {
  constructor(private readonly gateway: GatewayAddress) {}

  get<T>(path: string): Promise<T> {
    return this.send('GET', path) as Promise<T>;
  }

  /** Without a body the request has none; a 204 answer resolves to undefined. */
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.send('POST', path, body) as Promise<T>;
  }

  async delete(path: string, body?: unknown): Promise<void> {
    await this.send('DELETE', path, body);
  }

  private async send(method: string, path: string, body?: unknown): Promise<unknown> {
    const { url, token, source, certificateSha256 } = this.gateway;
    let response: HttpReply;
    try {
      response = await send(new URL(path, url), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: TIMEOUT_MS,
        ...(certificateSha256 !== undefined ? { certificateSha256 } : {}),
      });
    } catch (error) {
      if (error instanceof CertificateMismatchError) {
        throw new CliError(
          `${error.message} (from ${source}): the token was not sent; if the gateway's certificate changed, restart it to publish the new one`,
          EXIT.unreachable,
        );
      }
      throw new CliError(
        `no gateway answers at ${url} (from ${source}: ${reason(error)}): start the gateway with \`npm start\`, or name the running one with --data-dir DIR`,
        EXIT.unreachable,
      );
    }
    const { text } = response;
    if (response.status >= 200 && response.status < 300) return text === '' ? undefined : (JSON.parse(text) as unknown);
    const refusal = errorBody(text)?.error;
    if (response.status === 401) {
      throw new CliError(
        `the gateway at ${url} refused the token: use the one in api.json of its data directory (--data-dir DIR), or pass --token`,
        EXIT.refused,
      );
    }
    const message = refusal?.message ?? `the gateway answered HTTP ${response.status} to ${method} ${path}`;
    throw new CliError(message, response.status === 400 ? EXIT.usage : EXIT.refused);
  }
}

function reason(error: unknown): string {
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  return code ?? message ?? String(error);
}

function errorBody(text: string): ErrorBody | undefined {
  try {
    const value = JSON.parse(text) as Partial<ErrorBody>;
    return typeof value.error?.message === 'string' ? (value as ErrorBody) : undefined;
  } catch {
    return undefined;
  }
}
