// Runs an embedded endpoint in a child process of its own, so that a gateway
// killed mid-request does not tear the endpoint's writes, and its disk and
// hashing work leaves the gateway's thread to the data path. The child is
// started with this process's module loaders (tsx from the sources, none when compiled), answers one message once
// listening ({endpoint, ...} or {error}), and stops when told "close" or when
// the gateway goes away (see serveForked).
import { fork } from 'node:child_process';

export interface ForkedEndpoint<Ready> {
  readonly ready: Ready;
  readonly pid: number;
  readonly close: () => Promise<void>;
}

/** The module loaders this process runs with (the TypeScript loader, --import tsx), and nothing else. */
function loaderArgs(): string[] {
  const args: string[] = [];
  process.execArgv.forEach((arg, i) => {
    if (/^--(import|require|loader|experimental-loader)=/.test(arg)) args.push(arg);
    else {
      const value = process.execArgv[i + 1];
      if (/^--(import|require|loader|experimental-loader)$/.test(arg) && value) args.push(arg, value);
    }
  });
  return args;
}

/** `nodeFlags`: more flags for the child's node, e.g. ['--openssl-legacy-provider']. */
export async function forkEndpoint<Ready extends object>(
  module: string,
  request: unknown,
  what: string,
  nodeFlags: readonly string[] = [],
): Promise<ForkedEndpoint<Ready>> {
  const child = fork(module, [JSON.stringify(request)], {
    execArgv: [...loaderArgs(), ...nodeFlags],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Ready | { error: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as Ready | { error: string }));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`the ${what} exited before it was ready (code ${code}, signal ${signal})`)));
  });
  if ('error' in ready) {
    await exited;
    throw new Error(`the ${what} could not start: ${ready.error}`);
  }
  return {
    ready,
    pid: child.pid!,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.send('close');
      await exited;
    },
  };
}

/** The child's side: starts the endpoint, reports it, and stops it when asked or orphaned. */
export async function serveForked<Ready extends object>(
  start: (request: unknown) => Promise<{ ready: Ready; close(): Promise<void> }>,
): Promise<void> {
  try {
    const server = await start(JSON.parse(process.argv[2] ?? '{}'));
    const stop = () => void server.close().finally(() => process.exit(0));
    process.once('disconnect', stop);
    process.on('message', (message) => {
      if (message === 'close') stop();
    });
    process.send!(server.ready);
  } catch (error) {
    process.send!({ error: (error as Error).message }, () => process.exit(1));
  }
}
