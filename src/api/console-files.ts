// The web console's built files (console/dist, made by `npm run
// build:console`, which `npm ci` runs), served at / and /console/NAME to
// whoever reaches the API: they hold no data; everything the page shows comes
// from the token-protected routes. Read once at start-up, gzipped once, and
// answered with an ETag so that a reload costs a 304.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageFile } from '../package-files.ts';

export const CONSOLE_DIR = packageFile('console', 'dist');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// The page loads its own script and style and talks to its own origin, nothing else; the sign-in
// form is never submitted by the browser (form-action), so the token cannot leave in a request of its making.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface ConsoleFile {
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly etag: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ConsoleFiles {
  /** Answers GET / and /console/…: true when it did. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

export async function loadConsoleFiles(directory = CONSOLE_DIR): Promise<ConsoleFiles> {
  const files = new Map<string, ConsoleFile>();
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    names = [];
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType) continue;
    const body = await readFile(join(directory, name));
    const headers = { 'content-type': contentType, ...(name === 'index.html' ? PAGE_HEADERS : {}) };
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name === 'index.html' ? '/' : `/console/${name}`, { body, gzipped: gzipSync(body), etag, headers });
  }

  return {
    serve(req, res, path) {
      if (path !== '/' && !path.startsWith('/console/')) return false;
      const file = files.get(path);
      if (!file) {
        const message =
          path === '/'
            ? `the web console is not built in ${directory}: run \`npm run build:console\` (npm ci does it), then restart the gateway\n`
            : `no such file ${path}\n`;
        res.writeHead(path === '/' ? 503 : 404, { 'content-type': 'text/plain; charset=utf-8' }).end(message);
        return true;
      }
      const common = {
        ...file.headers,
        etag: file.etag,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        vary: 'accept-encoding',
      };
      if (req.headers['if-none-match'] === file.etag) {
        res.writeHead(304, common).end();
        return true;
      }
      const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      const body = gzip ? file.gzipped : file.body;
      res.writeHead(200, { ...common, 'content-length': String(body.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) }).end(body);
      return true;
    },
  };
}
