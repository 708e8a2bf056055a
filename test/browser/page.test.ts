/**
 * The demo page (`vision-garden web`, src/cli/web.ts serving web/ as built into dist/web) end to
 * end in headless Chromium (Debian's `chromium`, driven by playwright-core; VG_CHROMIUM names
 * another binary): a small classifier exported to the vg format and to ONNX here, one PNG, and
 * the page's top-5 labels and scores must equal the Node library's to 1e-4 — eagerly on tfjs
 * (cpu, webgl), compiled by the engine on onnxruntime-web, and from the ONNX file; and a frame of
 * the fake camera is classified. Screenshots of the page are written to VG_SCREENSHOT_DIR
 * (default: the test's temporary directory, removed afterwards).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createModel, saveModel, toOnnx, type ClassificationPrediction } from '../../src/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { REPO_ROOT } from '../helpers.js';

// The page.evaluate callbacks run in the page: its DOM globals, typed as far as they are used.
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): { textContent: string | null } | null;
};
declare const window: unknown;

const CHROMIUM = process.env.VG_CHROMIUM ?? '/usr/bin/chromium';

let work = '';
let server: ChildProcess | null = null;
let browser: Browser | null = null;
let baseUrl = '';
let want: ClassificationPrediction;
const png = () => join(work, 'image.png');

/** A 60x80 PNG: a bright disc on a gradient. */
async function writePng(path: string): Promise<void> {
  const h = 60;
  const w = 80;
  const px = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const disc = (x - 45) ** 2 + (y - 28) ** 2 < 16 ** 2;
      px.set(disc ? [240, 210, 30] : [x * 3, y * 4, 90], (y * w + x) * 3);
    }
  }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path);
}

/** Starts `vision-garden web` on a free port; resolves with its URL. */
function startServer(model: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/vision-garden.js', 'web', '--port', '0', '--model', model],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    server = child;
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /vision-garden web: (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`web server exited (${code}): ${err}`)));
  });
}

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: apt-get install chromium (or set VG_CHROMIUM)`,
  );
  await initBackend('cpu');
  work = mkdtempSync(join(tmpdir(), 'vg-web-'));
  await writePng(png());
  const vm = await createModel('compact_resnet_shapes');
  await saveModel(vm, join(work, 'model'));
  writeFileSync(join(work, 'model.onnx'), await toOnnx(vm));
  want = (await vm.predict(png())) as ClassificationPrediction;
  await vm.dispose();
  baseUrl = await startServer(join(work, 'model'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // A fake camera (a test pattern) answers getUserMedia without asking.
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (work && !process.env.VG_SCREENSHOT_DIR) rmSync(work, { recursive: true, force: true });
});

/** Opens the page, optionally loads the ONNX file, predicts the PNG; returns the prediction. */
async function predictOnPage(
  query: string,
  opts: { onnx?: boolean; screenshot?: string; webcam?: boolean } = {},
): Promise<ClassificationPrediction> {
  const page: Page = await browser!.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${baseUrl}?${query}`);
    const state = () => page.evaluate(() => document.body.dataset.state ?? '');
    const waitFor = async (states: string[]) => {
      await page.waitForFunction(
        (s) => s.includes(document.body.dataset.state ?? ''),
        states.concat('error'),
        { timeout: 120_000 },
      );
      const now = await state();
      const error = await page.evaluate(() => document.getElementById('status')!.textContent);
      assert.notEqual(now, 'error', `page error: ${error}\n${logs.join('\n')}`);
    };
    await waitFor(['ready']);
    if (opts.onnx) {
      await page.setInputFiles('#onnx-file', join(work, 'model.onnx'));
      await page.click('#load');
      await page.waitForFunction(() =>
        /ONNX/.test(document.getElementById('model-info')!.textContent ?? ''),
      );
      await waitFor(['ready']);
    }
    if (opts.webcam) {
      await page.click('#webcam');
      await page.waitForSelector('#snap:not([disabled])');
      await page.click('#snap');
    } else {
      await page.setInputFiles('#image-file', png());
    }
    await waitFor(['done']);
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot });
    return (await page.evaluate(
      () => (window as unknown as { vgDemo: { lastPrediction: unknown } }).vgDemo.lastPrediction,
    )) as ClassificationPrediction;
  } finally {
    await page.close();
  }
}

function assertSame(got: ClassificationPrediction, what: string): void {
  assert.equal(got.kind, 'classification', what);
  assert.equal(got.classes.length, 5, what);
  assert.deepEqual(
    got.classes.map((c) => c.label),
    want.classes.map((c) => c.label),
    `${what}: top-5 labels`,
  );
  got.classes.forEach((c, i) =>
    assert.ok(
      Math.abs(c.score - want.classes[i].score) <= 1e-4,
      `${what}: ${c.label} ${c.score} vs Node ${want.classes[i].score}`,
    ),
  );
}

test('the page classifies a PNG with a vg model on tfjs as Node does (top-5 to 1e-4)', async () => {
  const shot = join(process.env.VG_SCREENSHOT_DIR ?? work, 'web-demo.png');
  assertSame(await predictOnPage('backend=cpu', { screenshot: shot }), 'tfjs cpu');
});

test('on the webgl tfjs backend (the browser GPU), the page predicts as Node does', async () => {
  assertSame(await predictOnPage('backend=webgl'), 'tfjs webgl');
});

test('compiled by the engine on onnxruntime-web (tfjs on wasm), the page predicts as Node does', async () => {
  // The page's default tfjs backend (wasm) around the compiled graph.
  assertSame(await predictOnPage('engine=ort'), 'onnxruntime-web');
});

test('from the exported ONNX file on onnxruntime-web, the page predicts as Node does', async () => {
  assertSame(await predictOnPage('backend=cpu', { onnx: true }), 'ONNX file');
});

test("the webcam: a frame of Chromium's fake camera is classified (an ImageBitmap input)", async () => {
  const shot = join(process.env.VG_SCREENSHOT_DIR ?? work, 'web-webcam.png');
  const got = await predictOnPage('backend=cpu', { webcam: true, screenshot: shot });
  assert.equal(got.kind, 'classification');
  assert.equal(got.classes.length, 5);
  const scores = got.classes.map((c) => c.score);
  assert.ok(
    scores.every((v, i) => v > 0 && (i === 0 || v <= scores[i - 1])),
    `${scores}`,
  );
  assert.ok(scores.reduce((a, b) => a + b, 0) <= 1 + 1e-6);
});
