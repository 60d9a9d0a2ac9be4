// Where a gateway's memory is at its peak, sampled from inside it. Plain
// JavaScript, so that it loads into the compiled gateway without tsx (whose
// loader would be part of what is measured):
//
//   MEMORY_SAMPLE=/tmp/peak.json npm run bench -- --only volume --runs 1 --sides ours \
//     --node-arg=--import=./scripts/bench/memory-sampler.js
//
// Every 100 ms the main thread reads its RSS; at each new peak (2 MiB over the
// last) it writes MEMORY_SAMPLE (each gateway of the run overwrites it: the
// volume bench's busy gateway is its last): process.memoryUsage(), V8's heap
// spaces (size, used), and the RSS of /proc/self/smaps by mapping ("[heap]" is
// malloc's main arena, "[anon]" V8's heaps, threads' arenas and large
// mappings, node's binary its code). A worker thread writes its own isolate's
// heap at its peak to MEMORY_SAMPLE.worker-THREADID.json.
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';

const out = process.env.MEMORY_SAMPLE;
const MiB = 2 ** 20;
const mib = (bytes) => Math.round(bytes / MiB);

function rssBytes() {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
}

function heapSpaces() {
  return Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .filter((s) => s.space_size > 0)
      .map((s) => [s.space_name, { size: mib(s.space_size), used: mib(s.space_used_size) }]),
  );
}

/** RSS in MiB by what is mapped (a file's path, [heap], [stack], or [anon]), those of 1 MiB or more. */
function mappings() {
  const kib = {};
  let name = '[anon]';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) name = mapping[1] || '[anon]';
    else if (line.startsWith('Rss:')) kib[name] = (kib[name] ?? 0) + Number(line.slice(4).trim().split(/\s+/)[0]);
  }
  return Object.fromEntries(
    Object.entries(kib)
      .filter(([, v]) => v >= 1024)
      .map(([k, v]) => [k, Math.round(v / 1024)]),
  );
}

// The gateway and its worker only: its embedded endpoints, forked with its --import flags, load this too.
if (out && (!isMainThread || /src\/main\.[jt]s$/.test(process.argv[1] ?? ''))) {
  let peak = 0;
  const sample = isMainThread
    ? () => {
        const rss = rssBytes();
        if (rss < peak + 2 * MiB) return;
        peak = rss;
        const usage = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, mib(v)]));
        writeFileSync(out, JSON.stringify({ uptime: process.uptime(), usage, heapSpaces: heapSpaces(), mappings: mappings() }, null, 1));
      }
    : () => {
        const heap = v8.getHeapStatistics();
        if (heap.total_heap_size <= peak) return;
        peak = heap.total_heap_size;
        const stats = { total: mib(heap.total_heap_size), used: mib(heap.used_heap_size), heapSpaces: heapSpaces() };
        writeFileSync(`${out}.worker-${threadId}.json`, JSON.stringify(stats, null, 1));
      };
  setInterval(sample, isMainThread ? 100 : 500).unref();
}
