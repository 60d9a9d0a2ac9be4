// Compiles the gateway's TypeScript (src/ and scsi/) into JavaScript under
// dist/, a file for a file, so that `npm start` (which runs this first) and the
// benchmarks run node on plain modules. Run through tsx, the gateway's memory held
// tsx's loader besides its own: a loader thread with an isolate of its own for
// each of the two threads that load modules (the main one and the S3 worker), the
// compiled text of every module, and esbuild's answers; an idle gateway took
// 212 MiB against 162 compiled. The tests still run the sources through tsx, so
// they never run a stale build.
//
//   npm run build:gateway      # dist/src/main.js and the rest, in a second or two
//
// Each module stays a module (imports of the package's own files get .js, the
// rest stay as they are): dist/ keeps src/'s tree one level down, which
// src/package-files.ts relies on. Source maps are written beside the files for
// `node --enable-source-maps`; node does not read them otherwise.
import { build, type Plugin } from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../src/package-files.ts';

/** The folders compiled: what the gateway imports. */
const SOURCE_FOLDERS = ['src', 'scsi'];

/** Every import left to node, with a relative one's .ts made .js: each file compiled alone, nothing bundled. */
const eachFileAlone: Plugin = {
  name: 'each-file-alone',
  setup(builder) {
    builder.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: args.path.replace(/^(\.{1,2}\/.*)\.ts$/, '$1.js'), external: true },
    );
  },
};

/** Compiles into `outdir` (a folder right under the package's root; default dist/), replacing what was there. */
export async function buildGateway(outdir = join(PACKAGE_ROOT, 'dist')): Promise<void> {
  if (dirname(outdir) !== PACKAGE_ROOT) throw new Error(`${outdir}: the compiled gateway must be in a folder right under ${PACKAGE_ROOT}`);
  const entryPoints: string[] = [];
  for (const folder of SOURCE_FOLDERS) {
    const files = await readdir(join(PACKAGE_ROOT, folder), { recursive: true });
    for (const file of files) if (file.endsWith('.ts') && !file.endsWith('.d.ts')) entryPoints.push(join(PACKAGE_ROOT, folder, file));
  }
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir,
    outbase: PACKAGE_ROOT,
    bundle: true,
    plugins: [eachFileAlone],
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

// Quiet when it works: `npm start` runs it, and what the gateway prints on stderr is its JSON log.
if (process.argv[1] && basename(process.argv[1]) === 'build-gateway.ts') await buildGateway();
