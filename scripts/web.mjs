// The browser demo (`npm run web`): bundles web/main.ts with esbuild for the browser (the
// package's `browser` mappings apply, so the page runs src/browser.ts's library) and serves it
// with onnxruntime-web's and tfjs-backend-wasm's wasm files and a model directory.
//   npm run web -- [--port 8080] [--host 127.0.0.1] [--model DIR]
// --model: a vg model directory (`vision-garden export --format vg`), served at /models/default/
// (the page's default model URL). Needs `npm run build` first (the page imports dist/src).
// Prints `vision-garden demo: http://HOST:PORT/` once it listens; stops on SIGINT/SIGTERM.
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import process from 'node:process';
import console from 'node:console';
import * as esbuild from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function parseArgs(argv) {
  const opts = { port: 8080, host: '127.0.0.1', model: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--port') opts.port = Number(value());
    else if (flag === '--host') opts.host = value();
    else if (flag === '--model') opts.model = resolve(value());
    else throw new Error(`web: unknown option '${argv[i]}' (--port, --host, --model)`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new Error(`web: --port must be 0..65535, got '${opts.port}'`);
  }
  if (opts.model && !existsSync(join(opts.model, 'model.json'))) {
    throw new Error(`web: --model ${opts.model} has no model.json (a vg model directory?)`);
  }
  return opts;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json',
};

/** Static folders by URL prefix. */
function staticRoots(opts) {
  const roots = {
    '/ort/': join(root, 'node_modules/onnxruntime-web/dist'),
    '/tfjs-wasm/': join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
  };
  if (opts.model) roots['/models/default/'] = opts.model;
  return roots;
}

/** The file under `dir` that `rest` names, or null (no escaping `dir`). */
function fileIn(dir, rest) {
  const p = resolve(dir, `.${sep}${decodeURIComponent(rest)}`);
  if (p !== dir && !p.startsWith(dir + sep)) return null;
  return existsSync(p) && statSync(p).isFile() ? p : null;
}

async function bundle() {
  if (!existsSync(join(root, 'dist/src/browser.js'))) {
    throw new Error('web: dist/src/browser.js is missing; run `npm run build` first');
  }
  const r = await esbuild.build({
    entryPoints: [join(root, 'web/main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    sourcemap: 'inline',
    logLevel: 'warning',
    // onnxruntime-web and tfjs-backend-wasm fetch their .wasm files (served below).
    loader: { '.wasm': 'file' },
    outdir: 'out',
  });
  return r.outputFiles.find((f) => f.path.endsWith('.js')).contents;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const app = await bundle();
  const html = readFileSync(join(root, 'web/index.html'));
  const roots = staticRoots(opts);
  const server = createServer((req, res) => {
    // Cross-origin isolation lets onnxruntime-web use its threaded wasm.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cache-Control', 'no-store');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    if (url.pathname === '/' || url.pathname === '/index.html')
      return send(200, TYPES['.html'], html);
    if (url.pathname === '/app.js') return send(200, TYPES['.js'], app);
    for (const [prefix, dir] of Object.entries(roots)) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = fileIn(dir, url.pathname.slice(prefix.length));
      if (!file) break;
      return send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
    }
    send(404, 'text/plain', `not found: ${url.pathname}\n`);
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, ok);
  });
  const { port } = server.address();
  console.log(`vision-garden demo: http://${opts.host}:${port}/`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
