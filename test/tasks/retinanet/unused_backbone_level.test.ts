/**
 * A RetinaNet whose decoder stops below the backbone's top level (ResNet-10 endpoints 2..5, FPN
 * `max_level: 4`): Model Garden's FPN reads backbone levels up to min(backbone top, max_level)
 * (official/vision/modeling/decoders/fpn.py), so ResNet's last block group feeds nothing. Keras
 * trains such a model: `apply_gradients` drops variables without a gradient and warns. Here the
 * compiled step (engine_fallback 'error') trains it, the weights without a gradient (that block
 * group's batch-norm gammas and betas; its kernels still get the l2 gradient) are listed once
 * through the trainer's message channel and left unchanged, and 2 steps + restart + 2 steps equal
 * 4 steps (weights, optimizer slots, EMA shadows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import type { Layer } from '../../../src/core/layer.js';
import { initBackend } from '../../../src/core/backend/index.js';
import type { Batch, InputPipeline, PipelineState } from '../../../src/core/task.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { buildTrainer, resolveExperiment } from '../../../src/train/run_experiment.js';
import type { Trainer } from '../../../src/train/trainer.js';

await initBackend('onnx');

const SIZE = 64;

const overrides = {
  runtime: { engine_fallback: 'error', num_threads: 1 },
  task: {
    model: {
      num_classes: 3,
      input_size: [SIZE, SIZE, 3],
      min_level: 3,
      max_level: 4,
      anchor: { num_scales: 1, aspect_ratios: [1.0], anchor_size: 3 },
      backbone: { type: 'resnet', resnet: { model_id: 10 } },
      decoder: { type: 'fpn', fpn: { num_filters: 8 } },
      head: { num_convs: 1, num_filters: 8 },
    },
    losses: { l2_weight_decay: 1e-2 },
  },
  trainer: {
    train_steps: 4,
    steps_per_loop: 1,
    summary_interval: 1,
    checkpoint_interval: 2,
    validation_interval: 100,
    optimizer_config: {
      optimizer: { type: 'sgd', sgd: { momentum: 0.9 } },
      learning_rate: { type: 'constant', constant: { learning_rate: 0.05 } },
      ema: { average_decay: 0.5 },
    },
  },
};

/** Class targets of a batch of 2 on a `size`² level: `cls` at `cell`, background elsewhere. */
function positiveAt(size: number, cell: number, cls: number): tf.Tensor {
  const t = new Int32Array(2 * size * size).fill(-1);
  t[cell] = t[size * size + cell] = cls;
  return tf.tensor4d(t, [2, size, size, 1], 'int32');
}

/**
 * Training batches from the task's dummy batch with a seeded random image and positive anchors; the position (batches served) is the resume state.
 */
class SeededBatches implements InputPipeline<Batch> {
  private served = 0;
  constructor(private readonly dummy: (n: number) => Batch) {}
  async next(): Promise<Batch> {
    const b = this.dummy(2);
    tf.dispose([b.image, b['cls_targets/3'], b['cls_targets/4'], b.box_weights]);
    b.image = tf.randomNormal([2, SIZE, SIZE, 3], 0, 1, 'float32', 100 + this.served);
    // One anchor per cell; one positive per image and level, the rest background (-1), so the
    // classification gradient reaches both levels' head weights.
    b['cls_targets/3'] = positiveAt(8, 17, 1);
    b['cls_targets/4'] = positiveAt(4, 5, 2);
    b.box_weights = tf.ones(b.cls_weights.shape);
    this.served += 1;
    return b;
  }
  getState(): PipelineState {
    return { served: this.served };
  }
  setState(s: PipelineState): void {
    this.served = s.served as number;
  }
}

type AnyTrainer = Trainer<Layer<tf.Tensor, unknown>, Batch, unknown>;

function newTrainer(modelDir: string, trainSteps: number, messages: string[]) {
  const resolved = resolveExperiment({
    experiment: 'retinanet',
    paramsOverrides: [
      JSON.stringify({ ...overrides, trainer: { ...overrides.trainer, train_steps: trainSteps } }),
    ],
  });
  const { task, trainer } = buildTrainer(
    resolved,
    modelDir,
    { onMessage: (m) => messages.push(m) },
    'onnx',
    createCompiledStepRunner,
  );
  const dummy = (n: number) => (task as { dummyBatch(n: number): Batch }).dummyBatch(n);
  task.buildInputs = async () => new SeededBatches(dummy) as never;
  return trainer as unknown as AnyTrainer;
}

async function snapshot(tr: AnyTrainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const w of tr.model.weights())
    out.set(`model/${w.path}`, (await w.variable.data()) as Float32Array);
  for (const s of tr.optimizer.slotVariables())
    out.set(`opt/${s.name}`, (await s.variable.data()) as Float32Array);
  for (const s of tr.ema?.variables() ?? [])
    out.set(`ema/${s.name}`, (await s.variable.data()) as Float32Array);
  return out;
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vg-unused-level-${name}-`));

test('RetinaNet with FPN max_level below the backbone top trains compiled and resumes exactly', async () => {
  const messagesA: string[] = [];
  const a = newTrainer(tmp('a'), 4, messagesA);
  const initial = await snapshot(a);
  // Block group 3 (level 5) of ResNet-10 is `residual_block_3`: its batch-norm parameters get no
  // gradient; its kernels are regularized, so the l2 term still reaches them.
  const group = 'retinanet_model/res_net/residual_block_3/';
  const trainable = a.model.trainableWeights();
  const expected = trainable
    .filter((w) => w.path.startsWith(group) && !w.regularize)
    .map((w) => w.path);
  assert.equal(expected.length, 6, 'three batch norms in the last block group');
  await a.train();
  const noGradient = messagesA.filter((m) => m.includes('no gradient'));
  assert.equal(noGradient.length, 1, `one warning, got: ${messagesA.join(' | ')}`);
  const listed = noGradient[0].slice(noGradient[0].lastIndexOf(': ') + 2).split(', ');
  assert.deepEqual(listed.sort(), [...expected].sort());
  const wa = await snapshot(a);
  await a.close();
  a.dispose();

  const moved = (path: string) =>
    initial.get(`model/${path}`)!.some((v, i) => v !== wa.get(`model/${path}`)![i]);
  for (const p of expected) assert.ok(!moved(p), `${p} has no gradient but changed`);
  for (const w of trainable) {
    if (!expected.includes(w.path)) assert.ok(moved(w.path), `${w.path} was not updated`);
  }

  const dirB = tmp('b');
  const b1 = newTrainer(dirB, 2, []);
  await b1.train();
  await b1.close();
  b1.dispose();
  const messagesB: string[] = [];
  const b2 = newTrainer(dirB, 4, messagesB);
  await b2.train();
  assert.equal(b2.step, 4);
  assert.equal(messagesB.filter((m) => m.includes('no gradient')).length, 1);
  const wb = await snapshot(b2);
  await b2.close();
  b2.dispose();
  assert.equal(wa.size, wb.size);
  for (const [name, va] of wa) {
    const vb = wb.get(name);
    assert.ok(vb, `${name} missing after resume`);
    for (let i = 0; i < va.length; i++) {
      assert.ok(Math.abs(va[i] - vb[i]) <= 1e-6, `${name}[${i}]: ${va[i]} vs ${vb[i]}`);
    }
  }
});
