// Builds the browser demo page (`vision-garden web`, src/cli/web.ts) into dist/web: web/main.ts
// bundled by esbuild for the browser (the package's `browser` mappings apply, so the page runs
// the library of src/browser.ts) and web/index.html. Run by `npm run build` after tsc.
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import console from 'node:console';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist/web');
if (!existsSync(join(root, 'dist/src/browser.js'))) {
  console.error('build-web: dist/src/browser.js is missing (run tsc first)');
  process.exit(1);
}
mkdirSync(out, { recursive: true });
const r = await esbuild.build({
  entryPoints: [join(root, 'web/main.ts')],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  // Layer names (and so weight paths) come from class names: minifying must keep them.
  keepNames: true,
  write: false,
  logLevel: 'warning',
  outfile: join(out, 'app.js'),
});
// Written beside and renamed: a server reading dist/web never sees half a file.
const tmp = join(out, `app.js.tmp-${process.pid}`);
writeFileSync(tmp, r.outputFiles[0].contents);
renameSync(tmp, join(out, 'app.js'));
copyFileSync(join(root, 'web/index.html'), join(out, 'index.html'));
