/**
 * Trainer behaviour on a tiny task (cpu backend, exact arithmetic order): resume equality,
 * flat memory, corrupt-checkpoint recovery, eval + best-checkpoint export, continuous eval,
 * summaries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { setGlobalSeed } from '../../src/core/random.js';
import type {
  ForwardResult,
  InputOptions,
  InputPipeline,
  Metric,
  Task,
} from '../../src/core/task.js';
import { optimizationConfig } from '../../src/core/config/optimization.js';
import { trainerConfig } from '../../src/core/config/definitions.js';
import {
  InMemoryImageClassification,
  type ImageClassificationBatch,
} from '../../src/data/in_memory.js';
import { TopKAccuracy } from '../../src/evaluation/classification.js';
import { sparseSoftmaxCrossEntropy } from '../../src/losses/classification.js';
import { l2Regularization } from '../../src/losses/l2.js';
import { Conv2D } from '../../src/modeling/layers/conv.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { Dropout } from '../../src/modeling/layers/dropout.js';
import { BatchNormalization } from '../../src/modeling/layers/normalization.js';
import { GlobalAveragePooling2D } from '../../src/modeling/layers/pooling.js';
import { readEventFile } from '../../src/train/summary.js';
import { readJsonlLog } from '../../src/train/jsonl_log.js';
import { Trainer, type TrainerSettings } from '../../src/train/trainer.js';
import { readCheckpointFile } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/core/random.js';

await initBackend('cpu');

class TinyNet extends Layer<tf.Tensor, tf.Tensor> {
  private conv = this.add(
    '_conv',
    new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }),
  );
  private bn = this.add('_bn', new BatchNormalization({}));
  private pool = this.add('_pool', new GlobalAveragePooling2D({}));
  private drop = this.add('_drop', new Dropout({ rate: 0.25 }));
  private dense = this.add('_dense', new Dense({ units: 3 }));
  constructor() {
    super({ name: 'tiny_net' });
  }
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = tf.relu(this.bn.apply(this.conv.apply(x, args), args));
    return this.dense.apply(this.drop.apply(this.pool.apply(y, args), args), args);
  }
}

type Out = { logits: tf.Tensor2D };

/** Three classes of 8x8 images: horizontal stripes, vertical stripes, checkerboard (+ noise). */
function makeData(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 64);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(3);
    labels[i] = c;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      const col = p % 8;
      const bright = c === 0 ? row % 2 === 0 : c === 1 ? col % 2 === 0 : (row + col) % 2 === 0;
      images[i * 64 + p] = Math.min(255, (bright ? 160 : 40) + rng.int(60));
    }
  }
  return { images, labels };
}

class TinyTask implements Task<TinyNet, ImageClassificationBatch, Out> {
  readonly type = 'tiny';
  readonly defaultEvalMetric = 'accuracy';
  private train = makeData(96, 1);
  private val = makeData(40, 2);
  buildModel(): TinyNet {
    return new TinyNet();
  }
  dummyBatch(b: number): ImageClassificationBatch {
    return {
      image: tf.zeros([b, 8, 8, 1]) as tf.Tensor4D,
      label: tf.zeros([b], 'int32') as tf.Tensor1D,
    };
  }
  async buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<ImageClassificationBatch>> {
    const d = which === 'train' ? this.train : this.val;
    return new InMemoryImageClassification({
      images: d.images,
      shape: [d.labels.length, 8, 8, 1],
      labels: d.labels,
      batchSize: 8,
      isTraining: opts.training,
      seed: opts.seed,
      augment: { randomFlip: opts.training },
      mean: [127],
      stddev: [64],
    });
  }
  forward(model: TinyNet, batch: ImageClassificationBatch, args: CallArgs): ForwardResult<Out> {
    const logits = model.apply(batch.image, args) as tf.Tensor2D;
    const ce = tf.mean(sparseSoftmaxCrossEntropy(logits, batch.label)) as tf.Scalar;
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      1e-3,
    );
    return {
      losses: { total_loss: tf.add(ce, l2) as tf.Scalar, cls: ce, l2 },
      outputs: { logits },
    };
  }
  buildMetrics(): Metric<Out, ImageClassificationBatch>[] {
    const acc = new TopKAccuracy(1);
    return [
      {
        name: 'accuracy',
        update: (o, b) => acc.updateFrom(o.logits, b.label),
        result: () => acc.result(),
        reset: () => acc.reset(),
      },
    ];
  }
}

function settings(over: Partial<TrainerSettings> & { optimizer?: object } = {}): TrainerSettings {
  const { optimizer, ...rest } = over;
  const base = trainerConfig.parse({
    optimizer_config: optimizationConfig.parse(
      optimizer ?? {
        optimizer: {
          type: 'adamw',
          adamw: { weight_decay_rate: 0.01, exclude_from_weight_decay: ['bias'] },
        },
        learning_rate: { type: 'cosine', cosine: { initial_learning_rate: 0.05, decay_steps: 20 } },
        warmup: { type: 'linear', linear: { warmup_steps: 3 } },
        ema: { average_decay: 0.9 },
      },
    ),
    train_steps: 20,
    checkpoint_interval: 10,
    summary_interval: 5,
    steps_per_loop: 5,
    validation_interval: 10,
    max_to_keep: 5,
  });
  return { ...base, ...rest } as TrainerSettings;
}

function newTrainer(
  modelDir: string,
  t: TrainerSettings,
  events = {},
): Trainer<TinyNet, ImageClassificationBatch, Out> {
  setGlobalSeed(7);
  return new Trainer({ task: new TinyTask(), trainer: t, modelDir, seed: 11, events });
}

async function snapshot(
  tr: Trainer<TinyNet, ImageClassificationBatch, Out>,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const w of tr.model.weights())
    out.set(`model/${w.path}`, (await w.variable.data()) as Float32Array);
  for (const s of tr.optimizer.slotVariables())
    out.set(`opt/${s.name}`, (await s.variable.data()) as Float32Array);
  for (const s of tr.ema?.variables() ?? [])
    out.set(`ema/${s.name}`, (await s.variable.data()) as Float32Array);
  return out;
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vg-trainer-${name}-`));

test('20 steps in one run equal 10 steps + restart + 10 steps (weights, slots, EMA to 1e-6)', async () => {
  const a = newTrainer(tmp('a'), settings());
  await a.train();
  const wa = await snapshot(a);
  await a.close();
  a.dispose();

  const dirB = tmp('b');
  const b1 = newTrainer(dirB, settings({ train_steps: 10 }));
  await b1.train();
  await b1.close();
  b1.dispose();
  const b2 = newTrainer(dirB, settings());
  await b2.train();
  assert.equal(b2.step, 20);
  const wb = await snapshot(b2);
  await b2.close();
  b2.dispose();

  assert.equal(wa.size, wb.size);
  assert.ok(wa.size > 10, 'model, optimizer and EMA tensors are compared');
  let moved = 0;
  for (const [name, va] of wa) {
    const vb = wb.get(name);
    assert.ok(vb, `${name} missing after resume`);
    for (let i = 0; i < va.length; i++) {
      assert.ok(Math.abs(va[i] - vb[i]) <= 1e-6, `${name}[${i}]: ${va[i]} vs ${vb[i]}`);
    }
    if (va.some((v) => v !== 0)) moved++;
  }
  assert.ok(moved > 5);
});

test('live tensors and bytes stay constant across 50 training steps', async () => {
  const seen: { step: number; tensors: number; bytes: number }[] = [];
  const t = settings({
    train_steps: 55,
    checkpoint_interval: 0,
    summary_interval: 1000,
    validation_interval: 0,
  });
  const tr = newTrainer(tmp('mem'), t, {
    onStep: (info: { step: number }) => {
      const m = tf.memory();
      seen.push({ step: info.step, tensors: m.numTensors, bytes: m.numBytes });
    },
  });
  await tr.train();
  const at5 = seen.find((s) => s.step === 5)!;
  const at55 = seen.find((s) => s.step === 55)!;
  assert.equal(at55.tensors, at5.tensors, 'numTensors grew');
  assert.equal(at55.bytes, at5.bytes, 'numBytes grew');
  await tr.close();
  tr.dispose();
});

test('a truncated latest checkpoint is reported and the previous one is used', async () => {
  const dir = tmp('corrupt');
  const a = newTrainer(dir, settings());
  await a.train();
  await a.close();
  a.dispose();
  const latest = join(dir, 'ckpt-20.vgckpt');
  truncateSync(latest, Math.floor(statSync(latest).size / 2));
  const messages: string[] = [];
  const b = newTrainer(dir, settings(), { onMessage: (m: string) => messages.push(m) });
  const restored = await b.restoreLatest();
  assert.equal(restored, join(dir, 'ckpt-10.vgckpt'));
  assert.equal(b.step, 10);
  assert.ok(
    messages.some((m) => m.includes('ckpt-20.vgckpt') && /truncated/.test(m)),
    messages.join('\n'),
  );
  await b.close();
  b.dispose();
});

test('train_and_eval evaluates, exports the best checkpoint and writes summaries', async () => {
  const dir = tmp('eval');
  const tr = newTrainer(
    dir,
    settings({ best_checkpoint_export_subdir: 'best', best_checkpoint_eval_metric: 'accuracy' }),
  );
  const res = await tr.train(true);
  assert.ok(res);
  assert.ok(
    res.accuracy > 0.5,
    `tiny task (chance 1/3) should be learnable, accuracy ${res.accuracy}`,
  );
  // Model Garden's exporter layout: info.json holds the eval results of the best step plus
  // best_ckpt_global_step, and the checkpoint is best_ckpt-<step> with its own pointer file.
  const info = JSON.parse(readFileSync(join(dir, 'best', 'info.json'), 'utf8'));
  const val0 = readJsonlLog(join(dir, 'validation', 'metrics.jsonl'));
  const accs = val0.filter((e) => e.tag === 'accuracy');
  const bestAcc = accs.reduce((m, e) => ((e.value ?? -1) > (m.value ?? -1) ? e : m));
  assert.equal(info.best_ckpt_global_step, bestAcc.step);
  assert.equal(Math.fround(info.accuracy), bestAcc.value); // the scalar log holds float32
  const bestFile = `best_ckpt-${bestAcc.step}.vgckpt`;
  assert.deepEqual(readdirSync(join(dir, 'best')).sort(), [bestFile, 'checkpoint', 'info.json']);
  const best = await readCheckpointFile(join(dir, 'best', bestFile));
  assert.equal(best.meta.step, bestAcc.step);
  assert.ok(
    [...best.tensors.keys()].some((k) => k.startsWith('optimizer/')),
    'a best checkpoint exported by the trainer is a full training checkpoint',
  );
  await tr.close();
  tr.dispose();

  const trainEvents = readdirSync(join(dir, 'train')).find((f) =>
    f.startsWith('events.out.tfevents'),
  )!;
  const events = await readEventFile(join(dir, 'train', trainEvents));
  const tags = new Set(events.flatMap((e) => e.summary?.value?.map((v) => v.tag) ?? []));
  for (const tag of ['total_loss', 'cls', 'l2', 'learning_rate', 'accuracy', 'steps_per_second']) {
    assert.ok(tags.has(tag), `train summaries lack ${tag}: ${[...tags].join(', ')}`);
  }
  const val = readJsonlLog(join(dir, 'validation', 'metrics.jsonl'));
  assert.deepEqual(
    val.filter((e) => e.tag === 'accuracy').map((e) => e.step),
    [10, 20],
  );
});

test('continuous_eval evaluates checkpoints until the final step', async () => {
  const dir = tmp('ceval');
  const tr = newTrainer(dir, settings());
  await tr.train();
  await tr.close();
  tr.dispose();
  const ev = newTrainer(dir, settings({ continuous_eval_timeout: 1 }));
  const res = await ev.continuousEval(50);
  assert.ok(res);
  assert.equal(ev.step, 20);
  assert.ok(res.accuracy >= 0 && res.accuracy <= 1);
  await ev.close();
  ev.dispose();
});
