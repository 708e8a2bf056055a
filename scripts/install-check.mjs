// Install check (run by .ci/run after the tests, on a built tree): packs the package, installs the
// tarball offline (from the npm cache `npm ci` filled) into an empty project WITHOUT
// --ignore-scripts, then runs `npx vision-garden --version`, `npx vision-garden demo`, exports the
// demo's model and runs examples/classify.mjs on it. Prints the installed size.
//   node scripts/install-check.mjs [--online]
// --online: fetch what the npm cache lacks (a machine whose cache `npm ci` did not fill).
//
// onnxruntime-node's postinstall downloads its CUDA/TensorRT providers from NuGet on Linux x64
// (the engine runs the CPU provider bundled in its tarball and never loads them). A dependency
// cannot switch that off for its dependant, so the install sets ONNXRUNTIME_NODE_INSTALL=skip
// (onnxruntime-node's own switch), as README's install section tells users to.
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'vg-install-'));
const project = join(work, 'project');
mkdirSync(project);

function run(cmd, args, cwd, env = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    cwd,
    stdio: 'inherit',
    env: { ...process.env, CI: 'true', ...env },
  });
  if (r.status !== 0) {
    console.error(`install-check: '${cmd} ${args.join(' ')}' failed (status ${r.status})`);
    process.exit(1);
  }
}

run('npm', ['pack', '--pack-destination', work], root);
const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
writeFileSync(
  join(project, 'package.json'),
  JSON.stringify({
    name: 'vg-install-check',
    private: true,
    type: 'module',
    // npm 11.19 (here) runs a dependency's install scripts only when allowScripts allows them:
    // allow the two that have one, so that they run as under npm 10 (which ignores the field).
    allowScripts: { koffi: true, 'onnxruntime-node': true },
  }),
);
// The project's own .npmrc: scripts run (the repository's ignore-scripts does not apply here).
writeFileSync(join(project, '.npmrc'), 'ignore-scripts=false\n');
const cacheMode = process.argv.includes('--online') ? '--prefer-offline' : '--offline';
run('npm', ['install', cacheMode, '--no-audit', '--no-fund', join(work, tarball)], project, {
  npm_config_ignore_scripts: 'false',
  ONNXRUNTIME_NODE_INSTALL: 'skip',
});
run('npx', ['--offline', 'vision-garden', '--version'], project);
run('npx', ['--offline', 'vision-garden', 'demo', '--model_dir', 'run'], project);
run(
  'npx',
  [
    '--offline',
    'vision-garden',
    'export',
    '--format',
    'vg',
    '--model_dir',
    'run',
    '--out',
    'model',
  ],
  project,
);
// A 48x48 PNG of a filled circle, made with the installed sharp.
const image = join(project, 'circle.png');
const draw = `import sharp from 'sharp';
const n = 48, px = new Uint8Array(n * n * 3);
for (let y = 0; y < n; y++) for (let x = 0; x < n; x++)
  if ((x - 24) ** 2 + (y - 24) ** 2 < 15 ** 2) px.fill(255, (y * n + x) * 3, (y * n + x + 1) * 3);
await sharp(px, { raw: { width: n, height: n, channels: 3 } }).png().toFile(${JSON.stringify(image)});`;
run(process.execPath, ['--input-type=module', '-e', draw], project);
run(
  process.execPath,
  ['node_modules/vision-garden/examples/classify.mjs', 'model', image],
  project,
);
const du = spawnSync('du', ['-sm', join(project, 'node_modules')], { encoding: 'utf8' });
console.log(`install-check: ok; node_modules ${du.stdout.split('\t')[0]} MB`);
rmSync(work, { recursive: true, force: true });
