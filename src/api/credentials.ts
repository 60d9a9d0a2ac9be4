// The management API's credentials: a random bearer token made at start-up and
// published with the API's URL in <dataDir>/api.json (mode 0600), so that the
// CLI on the same machine, run by the same user, finds the running gateway.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const CREDENTIALS_FILE = 'api.json';

export interface ApiCredentials {
  /** http://host:port of the management API. */
  readonly url: string;
  readonly token: string;
}

export function newApiToken(): string {
  return randomBytes(32).toString('base64url');
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE);
}

/** Writes the file whole or not at all, readable by its owner only. */
export async function writeApiCredentials(dataDir: string, credentials: ApiCredentials): Promise<void> {
  const path = credentialsPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  // A leftover from a crash could carry looser permissions; the mode applies only to a new file.
  await rm(temporary, { force: true });
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
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
  const { url, token } = value ?? {};
  if (typeof url !== 'string' || !URL.canParse(url) || typeof token !== 'string' || token === '') {
    throw new Error(`${path} is damaged (it should hold {"url": ..., "token": ...}): restart the gateway to write it again`);
  }
  return { url, token };
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
