/**
 * `vision-garden web [--model DIR] [--port P]`: serves the browser demo page (web/, built into
 * dist/web by `npm run build`) with onnxruntime-web's and tfjs-backend-wasm's wasm files and,
 * with --model, a vg model directory at /models/default/ (the page's default model URL).
 */
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

interface WebFlags {
  model?: string;
  port: number;
  host: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** The folder of a package's resolved entry file (its dist/ for both wasm packages). */
function packageDist(pkg: string): string {
  return dirname(fileURLToPath(import.meta.resolve(pkg)));
}

/** The file under `dir` that `rest` names, or null (never outside `dir`). */
function fileIn(dir: string, rest: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    return null;
  }
  const p = resolve(dir, `.${sep}${name}`);
  if (p !== dir && !p.startsWith(dir + sep)) return null;
  return existsSync(p) && statSync(p).isFile() ? p : null;
}

async function runWeb(flags: WebFlags): Promise<void> {
  if (!(Number.isInteger(flags.port) && flags.port >= 0 && flags.port < 65536)) {
    throw new Error(`--port must be an integer in 0..65535, got ${flags.port}`);
  }
  const page = fileURLToPath(new URL('../../web/', import.meta.url));
  if (!existsSync(`${page}app.js`)) {
    throw new Error(`the demo page is not built (${page}app.js): run npm run build`);
  }
  const roots: Record<string, string> = {
    '/': resolve(page),
    '/ort/': packageDist('onnxruntime-web'),
    '/tfjs-wasm/': packageDist('@tensorflow/tfjs-backend-wasm'),
  };
  if (flags.model) {
    const model = resolve(flags.model);
    if (!existsSync(`${model}${sep}model.json`)) {
      throw new Error(`--model ${flags.model}: no model.json (a vg model directory?)`);
    }
    roots['/models/default/'] = model;
  }
  const prefixes = Object.keys(roots).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    // Cross-origin isolation lets onnxruntime-web run its threaded wasm.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(405, 'text/plain', 'GET only\n');
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const prefix = prefixes.find((p) => path.startsWith(p));
    const rest = prefix === undefined ? '' : path.slice(prefix.length);
    const file = prefix === undefined ? null : fileIn(roots[prefix], rest || 'index.html');
    if (!file) return send(404, 'text/plain', `not found: ${path}\n`);
    send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(flags.port, flags.host, ok);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : flags.port;
  console.log(`vision-garden web: http://${flags.host}:${port}/`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.close(() => done());
      server.closeAllConnections();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** Adds the `web` command to the program. */
export function registerWeb(program: Command): void {
  program
    .command('web')
    .description('serve the browser demo page (classify or detect in the browser)')
    .option('--model <dir>', 'a vg model directory, served as the page default')
    .option('--port <port>', 'TCP port (0: any free one)', (v: string) => Number(v), 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action((flags: WebFlags) => runWeb(flags));
}
