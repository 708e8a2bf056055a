// Bundles tfjs-core's gradient registrations (dist/register_all_gradients.js, ESM with
// extension-less imports that Node cannot load) into one ESM file Node can import.
// The bundled copy shares tfjs's global engine and registries (tfjs keeps them on globalThis and
// recognises tensors from any copy), exactly as the @tensorflow/tfjs union bundle does.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const coreDir = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
await build({
  entryPoints: [join(coreDir, 'dist', 'register_all_gradients.js')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  outfile: join(root, 'build', 'tfjs_gradients.mjs'),
  logLevel: 'warning',
  legalComments: 'inline',
});
