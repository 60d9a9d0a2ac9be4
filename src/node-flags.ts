// The node flags the gateway process runs with, defined once in package.json
// ("config.gatewayNodeFlags", used by `npm start`); the tests and benchmarks
// start the gateway with the same flags through this.
//
// --initial-old-space-size: V8 sizes its limit for external memory (every
// large Buffer) from the heap's size, and the gateway's heap is small (about
// 25 MB). With the default, moving data at a few hundred MB/s set off a full
// mark-compact every few dozen MB: some 30 per 256 MiB tape write, whose
// marking threads took more CPU than the data path. A larger initial old space
// lets them come when memory, not churn, calls for it.
//
// --max-semi-space-size=4 (MiB): V8 grows each isolate's young generation to
// two semi-spaces of 16 MiB under a steady stream of short-lived objects (every
// command's), and keeps them: 32 MiB of the gateway's RSS for the engine's
// thread and as much again for the S3 worker's, nearly empty after each
// scavenge (0.2-0.3 MiB live at the peak of the volume bench's busy case).
// Four MiB keep 8 MiB an isolate; scavenges come more often and each costs
// about as much, since what survives one is what is live, not what was made.
//
// --max-old-space-size=1024 (MiB): after a full collection V8 lets an old
// space grow to up to 4 times what survived it when the heap's maximum is the
// default for a machine of this much memory (4 GiB here), and to less the
// smaller the maximum: 1.6 times at 1 GiB (--trace-gc-verbose prints the
// factor), never below the initial old space above. A share's small files
// uploading after a burst of creates (one S3 put each, on the main thread)
// promote garbage at about 10 MiB a second: with the default the old space
// rose to 172 MiB with 39 live and the RSS to 283-302 MiB; with the cap the
// RSS peaked at 227-230 (README, share bench). A heap that needs a gigabyte,
// four times the RSS goal, is a fault of its own: past it the process stops
// with V8's out-of-memory error.
import { readFileSync } from 'node:fs';
import { packageFile } from './package-files.ts';

const manifest = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { config: { gatewayNodeFlags: string } };

export const GATEWAY_NODE_FLAGS: readonly string[] = manifest.config.gatewayNodeFlags.split(/\s+/).filter(Boolean);
