// The management API's credentials: a random bearer token, kept in
// <dataDir>/api-token across restarts (so that a client on another machine
// keeps working) until it is rotated, and published with the API's URL in
// <dataDir>/api.json while the gateway runs, so that the CLI on the same
// machine, run by the same user, finds it. Both files are the owner's only.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CREDENTIALS_FILE = 'api.json';
export const TOKEN_FILE = 'api-token';

export interface ApiCredentials {
  /** http(s)://host:port of the management API. */
  readonly url: string;
  readonly token: string;
  /** With HTTPS: the SHA-256 fingerprint of the API's certificate ("AB:CD:…"), which the CLI checks before it sends the token. */
  readonly certificateSha256?: string;
}

/** A token as newApiToken() makes them: anything else in the token file is replaced. */
const TOKEN = /^[A-Za-z0-9_-]{32,}$/;

export function newApiToken(): string {
  return randomBytes(32).toString('base64url');
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE);
}

/** The management API's token, as kept in <dataDir>/api-token; made on the first start. */
export class ApiToken {
  private constructor(
    private readonly path: string,
    private value: string,
  ) {}

  static async open(dataDir: string): Promise<ApiToken> {
    const path = join(dataDir, TOKEN_FILE);
    let kept: string | undefined;
    try {
      kept = (await readFile(path, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const token = new ApiToken(path, kept !== undefined && TOKEN.test(kept) ? kept : newApiToken());
    if (token.value !== kept) await writePrivateFile(path, `${token.value}\n`);
    return token;
  }

  current(): string {
    return this.value;
  }

  /** A new token, kept before it replaces the old one: the old one stops working at once. */
  async rotate(): Promise<string> {
    const next = newApiToken();
    await writePrivateFile(this.path, `${next}\n`);
    this.value = next;
    return next;
  }
}

/** Writes the file whole or not at all, readable by its owner only. */
export async function writeApiCredentials(dataDir: string, credentials: ApiCredentials): Promise<void> {
  await writePrivateFile(credentialsPath(dataDir), `${JSON.stringify(credentials, null, 2)}\n`);
}

async function writePrivateFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  // A leftover from a crash could carry looser permissions; the mode applies only to a new file.
  await rm(temporary, { force: true });
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}

/** The published credentials, or undefined when no gateway has published any. */
export async function readApiCredentials(dataDir: string): Promise<ApiCredentials | undefined> {
  const path = credentialsPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // Checked by hand rather than with zod: the CLI reads this on every run and starts faster without it.
  let value: Partial<Record<keyof ApiCredentials, unknown>> | undefined;
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    value = undefined;
  }
  const { url, token, certificateSha256 } = value ?? {};
  if (
    typeof url !== 'string' ||
    !URL.canParse(url) ||
    typeof token !== 'string' ||
    token === '' ||
    (certificateSha256 !== undefined && typeof certificateSha256 !== 'string')
  ) {
    throw new Error(`${path} is damaged (it should hold {"url": ..., "token": ...}): restart the gateway to write it again`);
  }
  return { url, token, ...(certificateSha256 !== undefined ? { certificateSha256 } : {}) };
}

export async function removeApiCredentials(dataDir: string): Promise<void> {
  await rm(credentialsPath(dataDir), { force: true });
}

/** Whether an Authorization header carries `token` as a bearer token; constant time in the token. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
