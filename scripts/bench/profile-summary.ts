// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per file, and the
// inclusive time of the functions that matter, so a profile can be quoted in a report.
//
//   node --import tsx scripts/bench/profile-summary.ts PROFILE.cpuprofile [--top 30] [--match REGEX]
//        [--callers FUNCTION] [--from S] [--to S]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '30' },
    match: { type: 'string' },
    callers: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
  allowPositionals: true,
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: profile-summary.ts PROFILE.cpuprofile [--top N] [--match REGEX]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// --from/--to: seconds since the profile started, to look at one phase of a run.
const from = values.from === undefined ? -Infinity : Number(values.from) * 1e6;
const to = values.to === undefined ? Infinity : Number(values.to) * 1e6;
const self = new Map<number, number>();
let clock = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  clock += dt;
  if (clock >= from && clock <= to) self.set(id, (self.get(id) ?? 0) + dt);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string): string => url.replace(/^file:\/\/.*?\/(src|scsi|node_modules|test)\//, '$1/').replace(/^node:/, 'node:');
const label = (f: CallFrame): string => `${f.functionName || '(anonymous)'} ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : ''}`.trim();

const selfByLabel = new Map<string, number>();
const selfByFile = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  selfByLabel.set(label(n.callFrame), (selfByLabel.get(label(n.callFrame)) ?? 0) + t);
  const fileKey = n.callFrame.url ? short(n.callFrame.url) : `(${n.callFrame.functionName})`;
  selfByFile.set(fileKey, (selfByFile.get(fileKey) ?? 0) + t);
  // Inclusive: every distinct frame on the stack gets the sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!.callFrame);
    if (!seen.has(l)) {
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + t);
    }
  }
}

const pct = (t: number): string => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
const top = Number(values.top);
const wall = (profile.endTime - profile.startTime) / 1e6;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled over ${wall.toFixed(2)} s\n`);
process.stdout.write('\nself time by function:\n');
for (const [l, t] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t)}  ${l}\n`);
process.stdout.write('\nself time by file:\n');
for (const [l, t] of [...selfByFile].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(t)}  ${l}\n`);
const match = values.match ? new RegExp(values.match) : /src\/|scsi\//;
process.stdout.write(`\ninclusive time, frames matching ${match}:\n`);
for (const [l, t] of [...inclusive]
  .filter(([l]) => match.test(l))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  process.stdout.write(`  ${pct(t)}  ${l}\n`);
}

// --callers NAME: the stacks (innermost first, 6 frames) that lead to a function, by self time.
const callers = process.argv.indexOf('--callers');
if (callers > 0) {
  const name = process.argv[callers + 1]!;
  const stacks = new Map<string, number>();
  for (const [id, t] of self) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    const frames: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && frames.length < 6; cur = parent.get(cur))
      frames.push(label(byId.get(cur)!.callFrame));
    const key = frames.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + t);
  }
  process.stdout.write(`\ncallers of ${name}:\n`);
  for (const [k, t] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) process.stdout.write(`  ${pct(t)}  ${k}\n`);
}
