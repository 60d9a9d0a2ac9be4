// The embedded Glacier endpoint in its own process (forked by forked.ts).
import { serveForked } from '../forked-endpoint.ts';
import { startLocalGlacier, type LocalGlacierOptions } from './index.ts';

await serveForked(async (request) => {
  const glacier = await startLocalGlacier(request as LocalGlacierOptions);
  return { ready: { endpoint: glacier.endpoint }, close: () => glacier.close() };
});
