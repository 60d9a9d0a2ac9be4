// What every command shares: the global options that find the gateway, output
// on stdout, and a record of which command is being parsed.
import { ApiClient } from './api-client.ts';
import { findGateway, type GatewayAddress } from './gateway-address.ts';

export interface GlobalOptions {
  readonly dataDir?: string | undefined;
  readonly apiUrl?: string | undefined;
  readonly token?: string | undefined;
}

/**
 * The command yargs is parsing, with an example of its use, kept up to date by
 * each command's builder: yargs' fail handler does not say which command
 * failed, and a usage error should point at the right --help.
 */
export interface Parsing {
  command: string;
  example: string;
}

export function enter(parsing: Parsing, command: string, example: string): void {
  parsing.command = command;
  parsing.example = example;
}

/** The running gateway's API; each option falls back to its environment variable (the token is safer there than in `ps`). */
export async function connect(options: GlobalOptions): Promise<ApiClient> {
  return (await connectTo(options)).api;
}

/** connect(), and where the gateway was found. */
export async function connectTo(options: GlobalOptions): Promise<{ api: ApiClient; gateway: GatewayAddress }> {
  const env = process.env;
  const apiUrl = options.apiUrl ?? (env.GATEWAY_API_URL || undefined);
  const token = options.token ?? (env.GATEWAY_API_TOKEN || undefined);
  const gateway = await findGateway({ dataDir: options.dataDir ?? (env.GATEWAY_DATA_DIR || 'data'), apiUrl, token });
  return { api: new ApiClient(gateway), gateway };
}

export function print(text: string): void {
  process.stdout.write(text);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
