// Routes of the management API by method and path pattern ("/tapes/:barcode").
import { HttpError } from './http.ts';

export interface RouteRequest {
  /** Path parameters by name, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string's parameters (empty when there is none). */
  readonly query: URLSearchParams;
  /** The JSON body (read on demand, size-limited), or undefined when there is none. */
  body(): Promise<unknown>;
}

export interface RouteReply {
  readonly status: number;
  readonly body?: unknown;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  handle(request: RouteRequest): Promise<RouteReply>;
}

interface Compiled {
  readonly route: Route;
  /** Literal segments, and parameter names prefixed with ":". */
  readonly segments: readonly string[];
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export class Router {
  private readonly routes: readonly Compiled[];

  constructor(routes: readonly Route[]) {
    this.routes = routes.map((route) => ({ route, segments: route.path.split('/').slice(1) }));
  }

  /** The route for the request; a 404 for an unknown path, a 405 naming the allowed methods for a known one. */
  match(method: string, pathname: string): RouteMatch {
    const parts = pathname.split('/').slice(1);
    const allowed: string[] = [];
    for (const { route, segments } of this.routes) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length === 0) throw new HttpError(404, 'NOT_FOUND', `no such path ${pathname}: the API serves ${this.listing()}`);
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${pathname} takes ${allowed.join(' or ')}, not ${method}`);
  }

  private listing(): string {
    return this.routes.map(({ route }) => `${route.method} ${route.path}`).join(', ');
  }
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i]!;
    if (segment.startsWith(':')) {
      if (part === '') return undefined;
      params[segment.slice(1)] = decode(part);
    } else if (segment !== part) {
      return undefined;
    }
  }
  return params;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, 'INVALID_PATH', `the path segment ${JSON.stringify(part)} is not valid percent-encoding`);
  }
}
