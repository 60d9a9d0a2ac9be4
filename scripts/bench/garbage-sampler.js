// What fills a gateway's old space with garbage: V8's sampling heap profiler, keeping the
// samples of objects that a full (mark-compact) collection later freed, that is objects that
// lived long enough to be promoted and then died there. Their allocation sites are what grows
// the old space between full collections, and so the RSS, where live data alone would not.
// Plain JavaScript, loaded into the compiled gateway as memory-sampler.js is:
//
//   GARBAGE_SAMPLE=/tmp/garbage.heapprofile npm run bench -- --only share --runs 1 \
//     --node-arg=--import=./scripts/bench/garbage-sampler.js
//   kill -USR2 <the gateway's pid>    # writes the profile so far (the bench prints the pid)
//   node --import tsx scripts/bench/garbage-summary.ts /tmp/garbage.heapprofile
//
// One sample every 16 KiB allocated on average (the inspector's default is 32 KiB); what the sampling
// costs the rates was not measured, so compare a sampled run's rates only with another sampled run's.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.GARBAGE_SAMPLE;

// The gateway's main thread only: its embedded endpoints, forked with its --import flags, load this too.
if (out && isMainThread && /src\/main\.[jt]s$/.test(process.argv[1] ?? '')) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  process.on('SIGUSR2', () => {
    void post('HeapProfiler.getSamplingProfile').then(({ profile }) => writeFileSync(out, JSON.stringify(profile)));
  });
}
