// Starts the embedded Glacier endpoint as a child process (process.ts), the way
// the gateway runs it: a SIGKILL of the gateway leaves its files whole.
import { fileURLToPath } from 'node:url';
import { forkEndpoint } from '../forked-endpoint.ts';
import type { LocalGlacier, LocalGlacierOptions } from './index.ts';

const serverModule = fileURLToPath(new URL('./process.ts', import.meta.url));

export async function startLocalGlacierProcess(options: LocalGlacierOptions): Promise<LocalGlacier & { readonly pid: number }> {
  const child = await forkEndpoint<{ endpoint: string }>(serverModule, options, 'embedded Glacier endpoint');
  return { endpoint: child.ready.endpoint, pid: child.pid, close: child.close };
}
