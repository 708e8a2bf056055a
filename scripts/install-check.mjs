// Install check (run by .ci/run after the tests, on a built tree): packs the package, installs the
// tarball offline (from the npm cache `npm ci` filled) into an empty project WITHOUT
// --ignore-scripts, then runs `npx vision-garden --version`, `npx vision-garden demo`, exports the
// demo's model, runs examples/classify.mjs on it and classifies the same image on the demo page
// the installed `vision-garden web` serves, in headless Chromium. Prints the installed size.
//   node scripts/install-check.mjs [--online]
// --online: fetch what the npm cache lacks (a machine whose cache `npm ci` did not fill).
//
// Nothing in the install downloads: onnxruntime-node (whose postinstall fetches CUDA/TensorRT
// providers from NuGet on Linux x64, and fails offline) is an optional peer dependency, not
// installed with the package; the engine then runs onnxruntime-web's Node build (wasm). The check
// installs with scripts on and no ONNXRUNTIME_NODE_INSTALL, and fails if onnxruntime-node got in.
/* global document, window -- page.evaluate callbacks run in the browser */
import { spawn, spawnSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'vg-install-'));
const project = join(work, 'project');
mkdirSync(project);

/** The environment without onnxruntime-node's install switches (the install must not need them). */
function cleanEnv(env) {
  for (const k of Object.keys(env)) {
    if (/^(npm_config_)?onnxruntime_node_install/i.test(k)) delete env[k];
  }
  return env;
}

function run(cmd, args, cwd, env = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    cwd,
    stdio: 'inherit',
    env: cleanEnv({ ...process.env, CI: 'true', ...env }),
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
    // allow every one that has one (koffi; protobufjs 7, which onnxruntime-web brings: a local
    // version check), so that they run as under npm 10 (which ignores the field).
    allowScripts: { koffi: true, protobufjs: true },
  }),
);
// The project's own .npmrc: scripts run (the repository's ignore-scripts does not apply here).
writeFileSync(join(project, '.npmrc'), 'ignore-scripts=false\n');
const cacheMode = process.argv.includes('--online') ? '--prefer-offline' : '--offline';
run('npm', ['install', cacheMode, '--no-audit', '--no-fund', join(work, tarball)], project, {
  npm_config_ignore_scripts: 'false',
});
if (existsSync(join(project, 'node_modules', 'onnxruntime-node'))) {
  console.error('install-check: onnxruntime-node was installed (its postinstall downloads)');
  process.exit(1);
}
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
console.log(`$ node node_modules/vision-garden/examples/classify.mjs model ${image}`);
const classified = spawnSync(
  process.execPath,
  ['node_modules/vision-garden/examples/classify.mjs', 'model', image],
  { cwd: project, encoding: 'utf8', env: cleanEnv({ ...process.env, CI: 'true' }) },
);
process.stdout.write(classified.stdout);
if (classified.status !== 0) {
  console.error(`install-check: examples/classify.mjs failed:\n${classified.stderr}`);
  process.exit(1);
}
const [nodeLabel, nodeScore] = classified.stdout.split('\n')[0].split('\t');
await checkPage(nodeLabel, Number(nodeScore));
/**
 * The browser page from the installed package: `vision-garden web` serves it with the exported
 * model, and headless Chromium (Debian's `chromium`, VG_CHROMIUM; driven by the repository's
 * playwright-core) classifies the same PNG there: its top class and score must be Node's.
 */
async function checkPage(label, score) {
  console.log('$ npx vision-garden web --port 0 --model model   (and headless Chromium on it)');
  const server = spawn(
    'npx',
    ['--offline', 'vision-garden', 'web', '--port', '0', '--model', 'model'],
    {
      cwd: project,
      env: cleanEnv({ ...process.env, CI: 'true' }),
      stdio: ['ignore', 'pipe', 'inherit'],
      // Its own process group: npx runs the server as a child of its own, and killing npx alone
      // left that server holding our stdout pipe open (the check never exited).
      detached: true,
    },
  );
  let browser;
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d) => {
        out += d;
        const m = /vision-garden web: (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.once('exit', (code) => reject(new Error(`vision-garden web exited (${code})`)));
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: process.env.VG_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
    const page = await browser.newPage();
    await page.goto(`${url}?backend=cpu`);
    const settled = (states) =>
      page.waitForFunction((s) => s.includes(document.body.dataset.state), [...states, 'error'], {
        timeout: 120_000,
      });
    await settled(['ready']);
    await page.setInputFiles('#image-file', image);
    await settled(['done']);
    const demo = await page.evaluate(() => window.vgDemo);
    if (demo.state !== 'done') throw new Error(`the page failed: ${demo.error}`);
    const top = demo.lastPrediction.classes[0];
    console.log(`page: ${top.label}\t${top.score.toFixed(6)}`);
    if (top.label !== label || Math.abs(top.score - score) > 1e-4) {
      throw new Error(
        `the page's top class ${top.label} ${top.score} is not Node's ${label} ${score}`,
      );
    }
  } catch (err) {
    console.error(`install-check: the browser page: ${err.message}`);
    process.exit(1);
  } finally {
    await browser?.close();
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    server.stdout.destroy();
  }
}

const du = spawnSync('du', ['-sm', join(project, 'node_modules')], { encoding: 'utf8' });
console.log(`install-check: ok; node_modules ${du.stdout.split('\t')[0]} MB`);
rmSync(work, { recursive: true, force: true });
