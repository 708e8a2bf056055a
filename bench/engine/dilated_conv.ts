/**
 * Two ways to compile a dilated 3×3 convolution's training step, timed on ONNX Runtime:
 *
 *  (A) space-to-batch, as src/modeling/layers/conv.ts builds it (TF's `with_space_to_batch`):
 *      Pad/SpaceToBatchND → undilated 'valid' Conv2D → BatchToSpaceND, gradients through the
 *      same pair (src/engine/kernels/space_batch.ts);
 *  (B) ONNX Conv with `dilations`: `dilatedConv2d` of the same module, tfjs `conv2d(...,
 *      dilations)` with a custom gradient calling the Conv2DBackpropInput / Conv2DBackpropFilter
 *      kernels with `dilations` (the engine's conv lowerings honour it).
 *
 * The step: a stack of `--layers` 3×3 convs (dilation `--dilation`, SAME, ReLU between) on
 * [batch, hw, hw, channels], loss Σ y², outputs the loss and every filter gradient. Default shapes
 * are ResNet-50's last group at output stride 16 for a 224 input (14×14, 512 channels, dilation 2).
 * Both graphs are traced shape-only on tfjs-cpu, checked equal to each other, then timed in
 * alternation (median ms per step).
 *
 *   npx tsx bench/engine/dilated_conv.ts [--batch 4] [--hw 14] [--channels 512] [--layers 3]
 *       [--dilation 2] [--threads 2] [--steps 10] [--profile]
 *
 * `--profile` also prints ORT's kernel time per op type of each form (3 profiled runs).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { lowerTrace } from '../../src/engine/lower.js';
import { nodeRuntime } from '../../src/engine/node_runtime.js';
import { createSession, toOrt, type OrtTensor } from '../../src/engine/session.js';
import { Trace, type TracedValue } from '../../src/engine/trace.js';
import { atrousConvolution, dilatedConv2d } from '../../src/modeling/layers/conv.js';
import { median, opTypeProfile, timeAlternating } from './timing.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '4' },
    hw: { type: 'string', default: '14' },
    channels: { type: 'string', default: '512' },
    layers: { type: 'string', default: '3' },
    dilation: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
  },
});
const [N, HW, C, LAYERS, D, THREADS, STEPS] = [
  values.batch,
  values.hw,
  values.channels,
  values.layers,
  values.dilation,
  values.threads,
  values.steps,
].map(Number);

type ConvFn = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/** (A): the library's layer path (space-to-batch around an undilated conv). */
const spaceToBatch: ConvFn = (x, w) =>
  atrousConvolution(x, [3, 3], [D, D], 'same', (t) =>
    tf.conv2d(t as tf.Tensor4D, w, 1, 'valid'),
  ) as tf.Tensor4D;

/** (B): one dilated conv kernel, its gradients as dilated backprop kernels. */
const dilatedKernel: ConvFn = (x, w) => dilatedConv2d(x, w, [D, D], 'same', false);

function step(convFn: ConvFn) {
  return (inputs: Record<string, tf.Tensor>): tf.Tensor[] => {
    const ws = Array.from({ length: LAYERS }, (_, i) => inputs[`w${i}`]);
    const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => {
      let y = inputs.x as tf.Tensor4D;
      a.forEach((w, i) => {
        y = convFn(y, w as tf.Tensor4D);
        if (i + 1 < a.length) y = tf.relu(y);
      });
      return tf.sum(tf.square(y)) as tf.Scalar;
    })(ws);
    return [value, ...grads];
  };
}

async function compile(inputs: Record<string, tf.Tensor>, fn: ReturnType<typeof step>) {
  const trace = new Trace({ shapeOnly: true });
  for (const [name, t] of Object.entries(inputs)) trace.bindInput(name, t);
  let outputs: TracedValue[] = [];
  tf.tidy(() => {
    trace.run(() => {
      outputs = fn(inputs).map((t) => trace.lookup(t));
    });
  });
  const lowered = lowerTrace(trace, outputs);
  const session = await createSession(lowered.bytes, { intraOpNumThreads: THREADS });
  const feeds: Record<string, OrtTensor> = {};
  for (const gi of lowered.inputs) {
    if (gi.kind !== 'input') throw new Error('unexpected random draw');
    feeds[gi.onnxName] = toOrt(nodeRuntime, inputs[gi.name]);
  }
  const ops = new Map<string, number>();
  for (const t of lowered.opTypes) ops.set(t, (ops.get(t) ?? 0) + 1);
  return {
    ops: [...ops].map(([k, n]) => `${k}×${n}`).join(' '),
    run: async () => {
      const r = await session.run(feeds);
      return lowered.outputNames.map((n) => r[n].data as Float32Array);
    },
    profile: async (): Promise<string> => {
      const dir = mkdtempSync(join(tmpdir(), 'vg-dilated-conv-'));
      const profiled = await createSession(lowered.bytes, {
        intraOpNumThreads: THREADS,
        profileFilePrefix: join(dir, 'ort'),
      });
      for (let i = 0; i < 3; i++) await profiled.run(feeds);
      profiled.endProfiling();
      await profiled.release();
      const file = readdirSync(dir).find((f) => f.endsWith('.json'));
      if (!file) throw new Error(`no ORT profile in ${dir}`);
      const prof = opTypeProfile(join(dir, file));
      rmSync(dir, { recursive: true });
      return prof.ops
        .slice(0, 6)
        .map((o) => `${o.op} ${o.msPerRun.toFixed(0)} ms (${o.percent.toFixed(0)}%)`)
        .join(', ');
    },
  };
}

await initBackend('cpu');
const inputs: Record<string, tf.Tensor> = {
  x: tf.randomNormal([N, HW, HW, C], 0, 1, 'float32', 1),
};
for (let i = 0; i < LAYERS; i++) {
  inputs[`w${i}`] = tf.randomNormal([3, 3, C, C], 0, Math.sqrt(2 / (9 * C)), 'float32', 2 + i);
}
const a = await compile(inputs, step(spaceToBatch));
const b = await compile(inputs, step(dilatedKernel));
const [ra, rb] = [await a.run(), await b.run()];
ra.forEach((va, k) => {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < va.length; i++) {
    scale = Math.max(scale, Math.abs(va[i]));
    diff = Math.max(diff, Math.abs(va[i] - rb[k][i]));
  }
  if (diff > 1e-4 * scale)
    throw new Error(`output ${k}: the forms differ by ${diff / scale} of scale`);
});
const flops = LAYERS * 3 * 2 * N * HW * HW * C * C * 9;
console.log(`cpu: ${cpus()[0]?.model} (${cpus().length} cores), load ${loadavg()[0].toFixed(2)}`);
console.log(
  `${LAYERS} × conv3x3 d${D}, [${N}, ${HW}, ${HW}, ${C}], ${THREADS} ORT threads; ` +
    `${(flops / 1e9).toFixed(1)} GFLOP per step (forward + both gradients)`,
);
const [ta, tb] = await timeAlternating(
  async () => void (await a.run()),
  async () => void (await b.run()),
  2,
  STEPS,
);
for (const [name, t, form] of [
  ['A space-to-batch', ta, a],
  ['B Conv dilations', tb, b],
] as const) {
  const ms = median(t);
  console.log(
    `${name}: ${ms.toFixed(1)} ms/step (${(flops / ms / 1e6).toFixed(1)} GFLOP/s)  ${form.ops}`,
  );
}
if (values.profile) {
  console.log(`A kernel time per op type: ${await a.profile()}`);
  console.log(`B kernel time per op type: ${await b.profile()}`);
}
console.log(`load at end ${loadavg()[0].toFixed(2)}`);
