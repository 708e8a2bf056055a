/**
 * The demo page (`npm run web` = `vision-garden web`, src/cli/web.ts; built by
 * scripts/build-web.mjs): load a vg model (by URL) or an ONNX file,
 * pick an image or use the webcam, and show the prediction; boxes are drawn for detection.
 * tfjs runs on its wasm backend where it loads, else webgl, else cpu (`?backend=`); "ONNX Runtime Web" runs the engine's
 * compiled graph (or the ONNX file) on onnxruntime-web, the first of WebGPU, WebGL and wasm that
 * runs it. `window.vgDemo` exposes the state for the end-to-end test (test/browser/page.test.ts).
 */
import * as ort from 'onnxruntime-web/all';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as vg from '../dist/src/browser.js';

type Predictor = {
  predict(image: vg.ImageInput): Promise<vg.Prediction>;
  dispose(): Promise<void>;
  describe: string;
};

interface DemoState {
  state: 'starting' | 'ready' | 'loading' | 'predicting' | 'done' | 'error';
  backend: string;
  provider: string | null;
  model: string | null;
  lastPrediction: vg.Prediction | null;
  error: string | null;
}

const demo: DemoState = {
  state: 'starting',
  backend: '',
  provider: null,
  model: null,
  lastPrediction: null,
  error: null,
};
(window as unknown as { vgDemo: DemoState }).vgDemo = demo;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const view = $<HTMLCanvasElement>('view');
const results = $('results');
const video = $<HTMLVideoElement>('video');
const params = new URLSearchParams(location.search);

function setState(state: DemoState['state'], message: string, isError = false): void {
  demo.state = state;
  if (isError) demo.error = message;
  statusEl.textContent = message;
  statusEl.className = isError ? 'error' : '';
  document.body.dataset.state = state;
}

function fail(err: unknown): void {
  setState('error', (err as Error).message ?? String(err), true);
  console.error(err);
}

/**
 * tfjs backend: wasm where it loads, then webgl, then cpu (`?backend=` picks one). wasm comes
 * first because the custom vision kernels (padded NMS, grouped 3-D convolution) exist for wasm
 * and cpu only (src/core/backend/custom): a detector runs eagerly there, a classifier anywhere.
 */
async function startTfjs(): Promise<void> {
  setWasmPaths('/tfjs-wasm/');
  // tfjs-backend-wasm's threaded build starts its workers from its own function source, which a
  // bundler's renaming breaks ("u is not defined"): the page runs its single-threaded SIMD build.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  ort.env.wasm.wasmPaths = '/ort/';
  const wanted = params.get('backend');
  for (const name of wanted ? [wanted] : ['wasm', 'webgl', 'cpu']) {
    try {
      demo.backend = await vg.initBackend(name);
      return;
    } catch (err) {
      console.warn(`tfjs backend ${name}: ${(err as Error).message}`);
    }
  }
  throw new Error('no tfjs backend could start');
}

const ortRuntime = () =>
  vg.withProviderFallback(ort as unknown as vg.OrtRuntime, ['webgpu', 'webgl', 'wasm'], (p, f) => {
    demo.provider = p;
    if (f.length) console.info(`ONNX Runtime Web: ${p} (skipped ${f.join('; ')})`);
  });

let predictor: Predictor | null = null;

async function loadVg(url: string, engine: string): Promise<Predictor> {
  const vm = await vg.loadModel(
    new URL(url, location.href).href,
    engine === 'ort' ? { compiled: true, runtime: ortRuntime() } : {},
  );
  return {
    predict: (image) => vm.predict(image),
    dispose: () => vm.dispose(),
    describe: `${vm.info.experiment ?? vm.info.taskType} (${vm.inference.kind}, ${vm.preprocessing.input_size.join('x')})`,
  };
}

async function loadOnnx(file: File): Promise<Predictor> {
  const om = await vg.loadOnnxModel(new Uint8Array(await file.arrayBuffer()), {
    runtime: ortRuntime(),
  });
  return {
    predict: (image) => om.predict(image),
    dispose: () => om.dispose(),
    describe: `${file.name}: ${om.meta.experiment ?? om.meta.task_type} (ONNX)`,
  };
}

async function loadSelected(): Promise<void> {
  const onnxFile = $<HTMLInputElement>('onnx-file').files?.[0];
  const url = $<HTMLInputElement>('model-url').value.trim();
  const engine = $<HTMLSelectElement>('engine').value;
  setState('loading', 'loading the model…');
  await predictor?.dispose();
  predictor = null;
  predictor = onnxFile ? await loadOnnx(onnxFile) : await loadVg(url, engine);
  demo.model = predictor.describe;
  $('model-info').textContent = predictor.describe;
  setState('ready', `model ready; tfjs backend ${demo.backend}. Pick an image.`);
}

/** Draws `source` scaled into the view canvas; returns the scale. */
function show(source: CanvasImageSource, width: number, height: number): number {
  // Fit into 640x480, enlarging small images.
  const scale = Math.min(640 / width, 480 / height);
  view.width = Math.round(width * scale);
  view.height = Math.round(height * scale);
  view.getContext('2d')!.drawImage(source, 0, 0, view.width, view.height);
  return scale;
}

const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6'];

function render(p: vg.Prediction, scale: number): void {
  results.textContent = '';
  if (p.kind === 'classification') {
    const c = p as vg.ClassificationPrediction;
    const table = document.createElement('table');
    table.innerHTML = '<tr><th>class</th><th>score</th><th></th></tr>';
    for (const r of c.classes) {
      const tr = table.insertRow();
      tr.insertCell().textContent = r.label;
      tr.insertCell().textContent = r.score.toFixed(4);
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${Math.round(r.score * 200)}px`;
      tr.insertCell().append(bar);
    }
    results.append(table);
  } else if (p.kind === 'detection') {
    const d = p as vg.DetectionPrediction;
    const ctx = view.getContext('2d')!;
    ctx.lineWidth = 2;
    ctx.font = '13px system-ui';
    d.detections.forEach((det, i) => {
      const [y0, x0, y1, x1] = det.box.map((v) => v * scale);
      const colour = COLOURS[det.classId % COLOURS.length];
      ctx.strokeStyle = colour;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      const text = `${det.label} ${det.score.toFixed(2)}`;
      ctx.fillStyle = colour;
      ctx.fillRect(x0, Math.max(0, y0 - 16), ctx.measureText(text).width + 6, 16);
      ctx.fillStyle = '#fff';
      ctx.fillText(text, x0 + 3, Math.max(12, y0 - 4));
      if (i < 20) {
        const line = document.createElement('div');
        line.textContent = `${text} [${det.box.map((v) => v.toFixed(0)).join(', ')}]`;
        results.append(line);
      }
    });
    if (d.detections.length === 0) results.textContent = 'no detections';
  } else {
    const pre = document.createElement('pre');
    const summary = { ...p } as Record<string, unknown>;
    delete summary.labelMap;
    pre.textContent = JSON.stringify(summary, null, 2);
    results.append(pre);
  }
}

async function predictImage(image: vg.ImageInput, draw: () => number): Promise<void> {
  if (!predictor) await loadSelected();
  setState('predicting', 'predicting…');
  const scale = draw();
  const t0 = performance.now();
  const p = await predictor!.predict(image);
  demo.lastPrediction = p;
  render(p, scale);
  const where = demo.provider ? `ONNX Runtime Web (${demo.provider})` : `tfjs ${demo.backend}`;
  setState('done', `predicted in ${(performance.now() - t0).toFixed(0)} ms on ${where}`);
}

async function onImageFile(): Promise<void> {
  const file = $<HTMLInputElement>('image-file').files?.[0];
  if (!file) return;
  const bitmap = await createImageBitmap(file);
  await predictImage(file, () => show(bitmap, bitmap.width, bitmap.height));
}

async function startWebcam(): Promise<void> {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
  await video.play();
  $<HTMLButtonElement>('snap').disabled = false;
  show(video, video.videoWidth, video.videoHeight);
}

async function snap(): Promise<void> {
  const frame = await createImageBitmap(video);
  await predictImage(frame, () => show(frame, frame.width, frame.height));
}

const guard = (fn: () => Promise<void>) => () => void fn().catch(fail);
$('load').addEventListener('click', guard(loadSelected));
$('image-file').addEventListener('change', guard(onImageFile));
$('webcam').addEventListener('click', guard(startWebcam));
$('snap').addEventListener('click', guard(snap));
$<HTMLInputElement>('model-url').value = params.get('model') ?? '/models/default/';
if (params.get('engine')) $<HTMLSelectElement>('engine').value = params.get('engine')!;

startTfjs()
  .then(() => setState('ready', `tfjs backend ${demo.backend}; load a model or pick an image`))
  .catch(fail);
