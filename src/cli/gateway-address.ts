// Where the running gateway's management API is and the token it wants: from
// --api-url and --token (or their environment variables), else from the
// api.json the gateway publishes in its data directory at start-up.
import { resolve } from 'node:path';
import { credentialsPath, readApiCredentials } from '../api/credentials.ts';
import { CliError, EXIT, usageError } from './errors.ts';

export interface GatewayOptions {
  readonly dataDir: string;
  readonly apiUrl?: string | undefined;
  readonly token?: string | undefined;
}

export interface GatewayAddress {
  readonly url: string;
  readonly token: string;
  /** Where the URL came from, for messages. */
  readonly source: string;
  /** The fingerprint of the API's certificate the gateway published, when the URL is the published one. */
  readonly certificateSha256?: string;
}

export async function findGateway(options: GatewayOptions): Promise<GatewayAddress> {
  if (options.apiUrl !== undefined) {
    try {
      new URL(options.apiUrl);
    } catch {
      throw usageError(`--api-url ${JSON.stringify(options.apiUrl)} is not a URL: type e.g. --api-url http://127.0.0.1:9480`);
    }
  }
  if (options.apiUrl !== undefined && options.token !== undefined)
    return { url: options.apiUrl, token: options.token, source: '--api-url' };

  const dataDir = resolve(options.dataDir);
  let published;
  try {
    published = await readApiCredentials(dataDir);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.unreachable);
  }
  if (!published) {
    if (options.apiUrl !== undefined) throw usageError('--api-url needs the token too: add --token TOKEN or set GATEWAY_API_TOKEN');
    throw new CliError(
      `the gateway is not running: ${credentialsPath(dataDir)} does not exist (a running gateway writes it); start it with \`npm start\`, or name its data directory with --data-dir DIR`,
      EXIT.unreachable,
    );
  }
  return {
    url: options.apiUrl ?? published.url,
    token: options.token ?? published.token,
    source: options.apiUrl !== undefined ? '--api-url' : credentialsPath(dataDir),
    ...(options.apiUrl === undefined && published.certificateSha256 !== undefined
      ? { certificateSha256: published.certificateSha256 }
      : {}),
  };
}
