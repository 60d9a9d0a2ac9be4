// Summarises a sampling heap profile (garbage-sampler.js, or any .heapprofile): bytes sampled by
// the function that allocated them, and by the last few frames of the stack that led there.
//
//   node --import tsx scripts/bench/garbage-summary.ts PROFILE.heapprofile [--top 25] [--depth 5]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, depth: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const file = positionals[0];
if (!file) {
  console.error('usage: garbage-summary.ts PROFILE.heapprofile [--top 25] [--depth 5]');
  process.exit(2);
}
const top = Number(values.top);
const depth = Number(values.depth);
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };

const byFunction = new Map<string, number>();
const byStack = new Map<string, number>();
const add = (map: Map<string, number>, key: string, bytes: number) => map.set(key, (map.get(key) ?? 0) + bytes);
const frameName = ({ functionName, url, lineNumber }: HeapNode['callFrame']) =>
  `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;

const walk = (node: HeapNode, path: string[]): void => {
  const here = [...path, frameName(node.callFrame)];
  if (node.selfSize > 0) {
    add(byFunction, here.at(-1)!, node.selfSize);
    add(byStack, here.slice(-depth).reverse().join(' < '), node.selfSize);
  }
  for (const child of node.children) walk(child, here);
};
walk(head, []);

const MiB = 2 ** 20;
const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}:`);
  for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${(bytes / MiB).toFixed(1).padStart(8)} MiB ${((100 * bytes) / total).toFixed(1).padStart(5)}%  ${name}`);
};
console.log(`${(total / MiB).toFixed(1)} MiB sampled`);
print('by allocating function', byFunction);
print(`by stack (last ${depth} frames, innermost first)`, byStack);
