// The source's import graph: no module imports itself back through others,
// so each can be read (and tested) from the bottom up, and the configuration
// sits below every feature.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { importCycles, importGraph, type ImportGraph } from '../helpers/import-graph.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const show = (cycles: string[][]): string => cycles.map((c) => c.join(' → ')).join('\n');

describe('imports', () => {
  it('the cycle finder reports a cycle through type imports and none in a tree', () => {
    const graph: ImportGraph = new Map([
      ['a.ts', ['b.ts', 'd.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    assert.deepEqual(importCycles(graph), [
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
      ['e.ts', 'e.ts'],
    ]);
    graph.set('c.ts', ['d.ts']);
    graph.set('e.ts', []);
    assert.deepEqual(importCycles(graph), []);
  });

  it('reads type-only imports and re-exports as imports', () => {
    const graph = importGraph(root, ['scsi']);
    assert.ok(graph.get('scsi/command-table.ts')?.includes('scsi/mode-pages.ts'), 'import type');
    assert.ok(graph.get('scsi/sbc/disk.ts')?.includes('scsi/sbc/block-device.ts'), 'export type … from');
  });

  it('src/config imports nothing of the features it configures', () => {
    const graph = importGraph(root, ['scsi', 'src']);
    const upward = [...graph].flatMap(([file, targets]) =>
      file.startsWith('src/config/') ? targets.filter((t) => !t.startsWith('src/config/')).map((t) => `${file} → ${t}`) : [],
    );
    assert.deepEqual(upward, [], 'configuration sits below every feature');
  });

  it('scsi/ and src/ have no import cycle', () => {
    const cycles = importCycles(importGraph(root, ['scsi', 'src']));
    assert.deepEqual(cycles, [], `import cycles:\n${show(cycles)}`);
  });
});
