// The embedded S3 endpoint of the default set-up: s3rver, a real S3 HTTP server,
// storing its objects under the gateway's data directory, in a process of its
// own (local-s3-server.ts). The gateway reaches it through the AWS SDK like any
// other endpoint.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LocalS3Message, LocalS3Request } from './local-s3-server.ts';

export interface LocalS3 {
  /** http://host:port, for the SDK's `endpoint`. */
  readonly endpoint: string;
  /** Objects an interrupted PUT had left torn, removed before the start. */
  readonly repaired: readonly string[];
  readonly pid: number;
  close(): Promise<void>;
}

const serverModule = fileURLToPath(new URL('./local-s3-server.ts', import.meta.url));

/** The module loaders this process runs with (the TypeScript loader, --import tsx), and nothing else. */
function loaderArgs(): string[] {
  const args: string[] = [];
  process.execArgv.forEach((arg, i) => {
    if (/^--(import|require|loader|experimental-loader)=/.test(arg)) args.push(arg);
    else if (/^--(import|require|loader|experimental-loader)$/.test(arg) && process.execArgv[i + 1]) args.push(arg, process.execArgv[i + 1]);
  });
  return args;
}

export async function startLocalS3(options: { directory: string; host?: string; port?: number }): Promise<LocalS3> {
  const request: LocalS3Request = { directory: options.directory, host: options.host ?? '127.0.0.1', port: options.port ?? 0 };
  const child = fork(serverModule, [JSON.stringify(request)], { execArgv: loaderArgs(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<LocalS3Message>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LocalS3Message));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the embedded S3 server exited before it was ready (code ${code}, signal ${signal})`)));
  });
  if ('error' in ready) {
    await exited;
    throw new Error(`the embedded S3 server could not start: ${ready.error}`);
  }
  return {
    endpoint: ready.endpoint,
    repaired: ready.repaired,
    pid: child.pid!,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.send('close');
      await exited;
    },
  };
}
