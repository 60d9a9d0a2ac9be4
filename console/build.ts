// Builds the web console into console/dist (gitignored), which the management
// API serves: index.html, one script (app.js) and one style sheet (app.css),
// bundled and minified by esbuild from console/src, with no network. `npm ci`
// runs it (package.json's install script); `npm run build:console` runs it by
// hand and prints each file's size, raw and gzipped.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CONSOLE_DIR } from '../src/api/console-files.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export interface BuiltFile {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export async function buildConsole(outdir = CONSOLE_DIR): Promise<BuiltFile[]> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: { app: here('./src/main.tsx') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    charset: 'utf8',
    logLevel: 'warning',
  });
  await copyFile(here('./index.html'), join(outdir, 'index.html'));
  return Promise.all(
    ['index.html', 'app.js', 'app.css'].map(async (name) => {
      const bytes = await readFile(join(outdir, name));
      return { name, bytes: bytes.length, gzipBytes: gzipSync(bytes).length };
    }),
  );
}

if (process.argv[1] && basename(process.argv[1]) === 'build.ts') {
  const files = await buildConsole();
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  for (const file of files)
    console.log(`console/dist/${file.name.padEnd(10)}  ${kib(file.bytes).padStart(9)}  (${kib(file.gzipBytes)} gzipped)`);
}
