/**
 * ResNet-50 inference speed at 224x224, batch 1 and 8, in one run:
 *   - vision-garden eager on tfjs-backend-wasm (XNNPACK kernels);
 *   - vision-garden's `onnx` engine: the same forward traced once and run by ONNX Runtime
 *     (src/engine/compile.ts `compileFunction`), 2 intra-op threads;
 *   - PyTorch CPU (torchvision resnet50, `torch.set_num_threads(2)`) through
 *     bench/resnet50_forward_peer.py run with /usr/bin/python3.
 * Prints images/s and the ratios to PyTorch. The model is the `resnet_imagenet` experiment's
 * (ResNet-50, 1001-class head; torchvision's has 1000 classes: 2,049 parameters fewer).
 *
 * Run: npx tsx bench/resnet50_forward.ts [--min_seconds 10] [--batches 1,8] [--skip_torch]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '../src/tasks/index.js';
import { initBackend } from '../src/core/backend/index.js';
import { setGlobalSeed } from '../src/core/random.js';
import { compileFunction } from '../src/engine/compile.js';
import { ImageClassificationTask } from '../src/tasks/image_classification/task.js';
import type { ImageClassificationTaskConfig } from '../src/tasks/image_classification/config.js';
import { resolveExperiment } from '../src/train/run_experiment.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const MIN_SECONDS = Number(arg('min_seconds', '10'));
const MIN_ITERS = 3;
const WARMUP = 2;
const THREADS = 2;
const BATCHES = arg('batches', '1,8').split(',').map(Number);
const SIZE = 224;

/** Runs `once` WARMUP times, then until MIN_ITERS runs and MIN_SECONDS have passed. */
async function imagesPerSecond(batch: number, once: () => Promise<void>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await once();
  let iters = 0;
  const start = performance.now();
  let elapsed = 0;
  while (iters < MIN_ITERS || elapsed < MIN_SECONDS) {
    await once();
    iters++;
    elapsed = (performance.now() - start) / 1000;
  }
  return (batch * iters) / elapsed;
}

function torchPeer(): {
  torch: string;
  threads: number;
  params: number;
  results: Record<string, number>;
} {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'resnet50_forward_peer.py');
  const out = execFileSync(
    '/usr/bin/python3',
    [
      script,
      '--batches',
      ...BATCHES.map(String),
      '--threads',
      String(THREADS),
      '--min_seconds',
      String(MIN_SECONDS),
      '--min_iters',
      String(MIN_ITERS),
      '--warmup',
      String(WARMUP),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

async function main(): Promise<void> {
  console.log(
    `load average at start: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  await initBackend('wasm');
  console.log(
    `tfjs wasm: SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, ` +
      `multithread ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`,
  );
  const config = resolveExperiment({ experiment: 'resnet_imagenet' }).config
    .task as unknown as ImageClassificationTaskConfig;
  setGlobalSeed(0);
  const task = new ImageClassificationTask(config);
  const model = task.buildModel();
  tf.tidy(() => void model.apply(tf.zeros([1, SIZE, SIZE, 3]), { training: false }));
  console.log(
    `vision-garden ResNet-50: ${model.countTrainableParams().toLocaleString('en-US')} trainable ` +
      `parameters (+${(model.countParams() - model.countTrainableParams()).toLocaleString('en-US')} BN statistics)`,
  );

  const ours: Record<number, { wasm: number; onnx: number | null }> = {};
  for (const batch of BATCHES) {
    const x = tf.randomNormal([batch, SIZE, SIZE, 3]) as tf.Tensor4D;
    const wasm = await imagesPerSecond(batch, async () => {
      const y = tf.tidy(() => model.apply(x, { training: false }));
      await y.data();
      y.dispose();
    });
    console.log(`  wasm  batch ${batch}: ${wasm.toFixed(2)} images/s`);
    let onnx: number | null = null;
    try {
      const compiled = await compileFunction(
        { image: x },
        (inputs) => [model.apply(inputs.image, { training: false })],
        { intraOpNumThreads: THREADS },
      );
      onnx = await imagesPerSecond(batch, async () => {
        const [y] = await compiled.run({ image: x });
        y.dispose();
      });
      await compiled.dispose();
      console.log(`  onnx  batch ${batch}: ${onnx.toFixed(2)} images/s`);
    } catch (err) {
      console.log(`  onnx  batch ${batch}: not available (${(err as Error).message})`);
    }
    x.dispose();
    ours[batch] = { wasm, onnx };
  }
  model.dispose();

  let torch: ReturnType<typeof torchPeer> | null = null;
  if (!process.argv.includes('--skip_torch')) {
    torch = torchPeer();
    console.log(
      `PyTorch ${torch.torch} (${torch.threads} threads), torchvision ResNet-50 ` +
        `${torch.params.toLocaleString('en-US')} parameters`,
    );
  }

  console.log('\nResNet-50 224x224 forward, images/s (ratio = ours / PyTorch)');
  console.log('batch  vg-wasm  vg-onnx  pytorch  wasm/pt  onnx/pt');
  for (const batch of BATCHES) {
    const { wasm, onnx } = ours[batch];
    const pt = torch?.results[String(batch)] ?? null;
    const f = (v: number | null, d = 2) => (v === null ? '-' : v.toFixed(d)).padStart(7);
    const ratio = (v: number | null) => (v === null || pt === null ? null : v / pt);
    console.log(
      `${String(batch).padStart(5)}  ${f(wasm)}  ${f(onnx)}  ${f(pt)}  ${f(ratio(wasm), 3)}  ${f(ratio(onnx), 3)}`,
    );
  }
}

await main();
