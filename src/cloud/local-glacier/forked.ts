// Starts the embedded Glacier endpoint as a child process (process.ts), the way
// the gateway runs it: a SIGKILL of the gateway leaves its files whole.
import { siblingModule } from '../../package-files.ts';
import { forkEndpoint } from '../forked-endpoint.ts';
import type { LocalGlacier, LocalGlacierOptions } from './index.ts';

const serverModule = siblingModule(import.meta.url, 'process');

export async function startLocalGlacierProcess(options: LocalGlacierOptions): Promise<LocalGlacier & { readonly pid: number }> {
  const child = await forkEndpoint<{ endpoint: string }>(serverModule, options, 'embedded Glacier endpoint');
  return { endpoint: child.ready.endpoint, pid: child.pid, close: child.close };
}
