// Where the gateway's own files are, whether it runs from its TypeScript
// sources through tsx (the tests, `bin/tapegw`) or as the JavaScript that
// `npm run build:gateway` compiles into dist/ (`npm start`, the benchmarks):
// dist/ keeps the tree of src/ and scsi/ one level down, so a path relative to a
// module (the native addons in build/, package.json, console/dist) goes through
// here, and a module the gateway starts in a thread or process of its own is
// named without its extension.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** False when this module runs compiled, from dist/. */
export const RUNNING_TYPESCRIPT = import.meta.url.endsWith('.ts');

/** The package's root: the folder of package.json, build/ and console/. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), RUNNING_TYPESCRIPT ? '..' : '../..');

/** A file of the package, by its path from the root, e.g. packageFile('build', 'Release', 'fileio.node'). */
export function packageFile(...segments: string[]): string {
  return join(PACKAGE_ROOT, ...segments);
}

/** The module `name` beside the module at `moduleUrl` (its import.meta.url), as a file path: NAME.ts or NAME.js as it runs. */
export function siblingModule(moduleUrl: string, name: string): string {
  return fileURLToPath(new URL(`./${name}${RUNNING_TYPESCRIPT ? '.ts' : '.js'}`, moduleUrl));
}

/**
 * The code of a worker thread (`new Worker(code, { eval: true })`) that runs
 * the module `name` beside the module at `moduleUrl`. From the sources it
 * registers tsx first: Node 20 does not run the parent's --import hooks in a
 * worker. Compiled, it loads the module alone, without a loader or tsx's state.
 */
export function workerBootstrap(moduleUrl: string, name: string): string {
  const entry = JSON.stringify(pathToFileURL(siblingModule(moduleUrl, name)).href);
  if (!RUNNING_TYPESCRIPT) return `await import(${entry});`;
  return `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${entry});`;
}
