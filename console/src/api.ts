// The management API as the console calls it: the same routes and the same
// bearer token as tapegw, sent in the Authorization header and nowhere else.
// Refusals keep the API's own words.

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when the gateway did not answer. */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What a conditional GET gives: the answer and its ETag, or nothing new since `etag`. */
export type Fetched<T> = { readonly data: T; readonly etag: string | undefined } | 'not-modified';

export class Api {
  constructor(
    private readonly token: string,
    /** The gateway stopped taking the token (it restarted with a new one, say). */
    private readonly onRefused: (error: ApiError) => void,
  ) {}

  async get<T>(path: string, etag?: string): Promise<Fetched<T>> {
    const response = await this.send('GET', path, undefined, etag ? { 'if-none-match': etag } : {});
    if (response.status === 304) return 'not-modified';
    return { data: (await response.json()) as T, etag: response.headers.get('etag') ?? undefined };
  }

  /** The answer's JSON, or undefined for a 204. */
  async post<T>(path: string, body?: unknown): Promise<T | undefined> {
    const response = await this.send('POST', path, body);
    return response.status === 204 ? undefined : ((await response.json()) as T);
  }

  async delete(path: string, body?: unknown): Promise<void> {
    await this.send('DELETE', path, body);
  }

  private async send(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const response = await request(method, path, this.token, body, headers);
    if (response.ok || response.status === 304) return response;
    const error = await refusal(response);
    if (response.status === 401) this.onRefused(error);
    throw error;
  }
}

/** Whether the gateway takes `token`: resolves, or rejects with the API's refusal. */
export async function checkToken(token: string): Promise<void> {
  const response = await request('GET', '/library', token);
  if (!response.ok) throw await refusal(response);
}

async function request(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  try {
    return await fetch(path, {
      method,
      // A 304 reaches the script only when the browser's cache stays out of the way.
      cache: 'no-store',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiError(0, 'UNREACHABLE', `The gateway does not answer (${(error as Error).message}): is it still running?`);
  }
}

async function refusal(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof code === 'string' && typeof message === 'string') return new ApiError(response.status, code, message);
  } catch {
    // not the API's JSON
  }
  return new ApiError(response.status, 'HTTP_ERROR', `The gateway answered HTTP ${response.status}.`);
}
