/**
 * The kernel tracer: what it records and how it classifies tensors it did not see produced, and
 * the ONNX model bytes the builder writes (decoded back field by field), on the cpu and wasm
 * backends; a training step recorded on wasm (whose training kernels are compositions of other
 * wasm kernels) is the same call sequence as on cpu (whose kernels never nest).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { Rng, setGlobalSeed } from '../../src/core/random.js';
import { randomUniform } from '../../src/core/random_ops.js';
import { compileFunction } from '../../src/engine/compile.js';
import { attr, GraphBuilder } from '../../src/engine/graph_builder.js';
import { decodeModel } from '../../src/engine/onnx_proto.js';
import { hookedKernelNames, Trace, type KernelCall } from '../../src/engine/trace.js';
import { testOnEachBackend } from './backends.js';
import { BlockTask, type ModelKind } from './models.js';

testOnEachBackend(
  'records kernels with attributes and classifies inputs, constants, random draws and views',
  () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const trace = new Trace();
    trace.bindInput('x', x);
    const rng = new Rng(3);
    tf.tidy(() =>
      trace.run(() => {
        const u = randomUniform([2, 3], rng);
        const y = tf.mul(tf.add(x, u), tf.scalar(0.5));
        return tf.sum(tf.reshape(y, [3, 2]), 0);
      }),
    );
    const names = trace.calls.map((c) => c.kernelName);
    assert.deepEqual(names, ['Add', 'Multiply', 'Reshape', 'Sum']);
    const [add, mul, , sum] = trace.calls;
    assert.equal(add.inputs[0].value.source.kind, 'input');
    assert.equal(add.inputs[1].value.source.kind, 'random');
    assert.equal(trace.randoms.length, 1);
    assert.equal(trace.randoms[0].rng, rng);
    const half = mul.inputs[1].value.source;
    assert.equal(half.kind, 'constant');
    assert.deepEqual(Array.from((half as { values: Float32Array }).values), [0.5]);
    assert.deepEqual(sum.attrs, { axis: 0, keepDims: false });
    assert.deepEqual(sum.inputs[0].value.shape, [3, 2]);
    assert.deepEqual(trace.dataReads, []);
    x.dispose();
  },
);

testOnEachBackend('flags JavaScript reads of traced values and unbound variables', () => {
  const v = tf.variable(tf.tensor1d([1, 2]), true, 'trace_test_unbound');
  const x = tf.tensor1d([3, 4]);
  const trace = new Trace();
  trace.bindInput('x', x);
  tf.tidy(() =>
    trace.run(() => {
      const y = tf.add(x, v);
      const threshold = y.dataSync()[0];
      return tf.mul(y, threshold);
    }),
  );
  assert.equal(trace.dataReads.length, 1);
  assert.deepEqual(trace.unboundVariables, ['trace_test_unbound']);
  v.dispose();
  x.dispose();
});

test('the graph builder writes an opset-17 ModelProto that decodes field by field and runs', async () => {
  await initBackend('cpu');
  const b = new GraphBuilder();
  b.addInput('a', [2], 'float32');
  const two = b.constant([2, 2], [2], 'float32');
  b.op('Mul', ['a', two], {}, 'y');
  b.op('Softmax', ['y'], { axis: attr.int(-1) }, 'z');
  b.addOutput('z', [2], 'float32');
  const m = decodeModel(b.toBytes()) as {
    ir_version: number;
    opset_import: { domain?: string; version: number }[];
    graph: {
      node: {
        op_type: string;
        input: string[];
        attribute?: { name: string; i: number; type: number }[];
      }[];
      initializer: { dims: number[]; data_type: number; raw_data: number[] }[];
      input: { name: string }[];
    };
  };
  assert.equal(m.ir_version, 8);
  assert.equal(m.opset_import[0].version, 17);
  assert.deepEqual(
    m.graph.node.map((n) => n.op_type),
    ['Mul', 'Softmax'],
  );
  assert.deepEqual(m.graph.node[1].attribute, [{ name: 'axis', i: -1, type: 2 }]);
  assert.equal(m.graph.initializer[0].data_type, 1);
  // 2.0f little-endian is 00 00 00 40.
  assert.deepEqual(m.graph.initializer[0].raw_data, [0, 0, 0, 64, 0, 0, 0, 64]);
  // End to end on ORT: softmax(2·[0, ln 3]) = [1, 9] / 10.
  const a = tf.tensor1d([0, Math.log(3)]);
  const f = await compileFunction({ a }, (i) => [tf.softmax(tf.mul(i.a, 2))]);
  const [z] = await f.run({ a });
  const got = z.dataSync();
  assert.ok(Math.abs(got[0] - 0.1) < 1e-6 && Math.abs(got[1] - 0.9) < 1e-6, `${got}`);
  await f.dispose();
});

/**
 * Kernel names, attributes, input/output shapes and which inputs are constants, for every call:
 * what the lowering sees. (Whether a non-constant input is a bound input or a kernel's output
 * may differ: the cpu Identity kernel returns its input's buffer, the wasm one a copy.)
 */
function signatureOf(calls: readonly KernelCall[]): string[] {
  const kind = (k: string) => (k === 'constant' ? 'const' : 'value');
  return calls.map(
    (c) =>
      `${c.kernelName} ${JSON.stringify(c.attrs)} ` +
      `${c.inputs.map((i) => `${i.name}:${i.value.shape}:${kind(i.value.source.kind)}`).join(' ')} -> ` +
      `${c.outputs.map((o) => `${o.shape}:${o.dtype}`).join(' ')}`,
  );
}

/** Records forward + every gradient of a block's training loss on the active backend. */
function recordTrainingStep(kind: ModelKind): KernelCall[] {
  setGlobalSeed(3);
  const task = new BlockTask(kind);
  const model = task.buildModel();
  const batch = task.batch(2, 5);
  tf.tidy(() => {
    task.forward(model, batch, { training: false });
  });
  const trace = new Trace();
  trace.bindInput('images', batch.images);
  trace.bindInput('labels', batch.labels);
  for (const w of model.weights()) trace.bindInput(w.path, w.variable);
  tf.tidy(() =>
    trace.run(() => {
      const { grads } = tf.variableGrads(
        () =>
          task.forward(model, batch, { training: true, stateUpdates: [], rng: new Rng(1) }).losses
            .total_loss,
        model.trainableWeights().map((w) => w.variable),
      );
      return Object.values(grads);
    }),
  );
  assert.deepEqual(trace.dataReads, []);
  assert.deepEqual(trace.unboundVariables, []);
  model.dispose();
  tf.dispose([batch.images, batch.labels]);
  return trace.calls;
}

/** Per block, a filter-gradient kernel that src/core/backend/wasm composes from other kernels. */
const COMPOSED_ON_WASM: [ModelKind, string][] = [
  ['bottleneck', 'Conv2DBackpropFilter'],
  ['se_depthwise', 'DepthwiseConv2dNativeBackpropFilter'],
  ['conv3d', 'Conv3DBackpropFilterV2'],
];

for (const [kind, composed] of COMPOSED_ON_WASM) {
  test(`${kind}: a training step recorded on wasm is the call sequence recorded on cpu`, async () => {
    await initBackend('cpu');
    const onCpu = recordTrainingStep(kind);
    await initBackend('wasm');
    const onWasm = recordTrainingStep(kind);
    // The wasm backprops are compositions (Transpose, Conv2D, BatchMatMul, ...): only the outer
    // kernel may appear.
    assert.ok(hookedKernelNames('wasm').includes(composed));
    assert.ok(onWasm.some((c) => c.kernelName === composed));
    assert.deepEqual(signatureOf(onWasm), signatureOf(onCpu));
  });
}

testOnEachBackend(
  'a shape-only trace records the same calls as a full one, without computing the heavy kernels',
  () => {
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2));
    const d = tf.variable(tf.randomNormal([3, 3, 4, 1], 0, 1, 'float32', 3));
    const m = tf.variable(tf.randomNormal([4, 5], 0, 1, 'float32', 4));
    const step = (trace: Trace) => {
      const seen: number[][] = [];
      tf.tidy(() =>
        trace.run(() => {
          const { value, grads } = tf.variableGrads(() => {
            const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
            const z = tf.depthwiseConv2d(tf.relu(y), d as tf.Tensor4D, 1, 'valid');
            const pooled = tf.add(tf.mean(z, [1, 2]), tf.max(z, [1, 2]));
            const p = tf.matMul(tf.reshape(pooled, [2, 4]), m as tf.Tensor2D);
            const conv = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid');
            seen.push(Array.from(conv.dataSync().slice(0, 4)));
            return tf.sum(tf.square(p));
          });
          seen.push(Array.from(value.dataSync()));
          for (const g of Object.values(grads)) seen.push(Array.from(g.dataSync().slice(0, 3)));
        }),
      );
      return seen;
    };
    const bind = (trace: Trace) => {
      trace.bindInput('x', x);
      trace.bindInput('w', w);
      trace.bindInput('d', d);
      trace.bindInput('m', m);
      return trace;
    };
    const full = bind(new Trace());
    const fullValues = step(full);
    const shapes = bind(new Trace({ shapeOnly: true }));
    const shapeValues = step(shapes);
    const describe = (c: KernelCall) => ({
      kernel: c.kernelName,
      attrs: c.attrs,
      ins: c.inputs.map((i) => [i.name, i.value.shape, i.value.dtype]),
      outs: c.outputs.map((o) => [o.shape, o.dtype]),
    });
    assert.deepEqual(shapes.calls.map(describe), full.calls.map(describe));
    const kernels = new Set(full.calls.map((c) => c.kernelName));
    for (const k of [
      'Conv2D',
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNative',
      'BatchMatMul',
      'Max',
    ]) {
      assert.ok(kernels.has(k), `the step uses ${k}`);
    }
    // The full trace computed the convolution; the shape-only one did not (zeros).
    assert.ok(fullValues[0].some((v) => Math.abs(v) > 1e-3));
    assert.deepEqual(shapeValues[0], [0, 0, 0, 0]);
    // The trace refuses data reads either way (the compiled step would not compile this one).
    assert.ok(shapes.dataReads.length > 0);
    tf.dispose([x, w, d, m]);
  },
);

testOnEachBackend(
  'a shape-only trace records the gradient of a gather (UnsortedSegmentSum) without computing it',
  () => {
    const table = tf.variable(tf.randomNormal([6, 3], 0, 1, 'float32', 5));
    const indices = tf.tensor1d([4, 0, 4, 2], 'int32');
    const rows = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [4, 3]);
    const step = (trace: Trace) => {
      trace.bindInput('table', table);
      trace.bindInput('indices', indices);
      trace.bindInput('rows', rows);
      let summed: number[] = [];
      tf.tidy(() =>
        trace.run(() => {
          tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, indices), rows)));
          // The gradient's kernel on inputs with values (bound, not computed in the trace).
          summed = Array.from(tf.unsortedSegmentSum(rows, indices, 6).dataSync());
        }),
      );
      return summed;
    };
    const full = new Trace();
    const fullSum = step(full);
    const shapes = new Trace({ shapeOnly: true });
    const shapeSum = step(shapes);
    const describe = (c: KernelCall) => ({
      kernel: c.kernelName,
      attrs: c.attrs,
      ins: c.inputs.map((i) => [i.name, i.value.shape, i.value.dtype]),
      outs: c.outputs.map((o) => [o.shape, o.dtype]),
    });
    assert.deepEqual(shapes.calls.map(describe), full.calls.map(describe));
    const segment = shapes.calls.filter((c) => c.kernelName === 'UnsortedSegmentSum');
    assert.equal(segment.length, 2, 'the gather gradient and the direct call');
    for (const c of segment) assert.deepEqual(c.outputs[0].shape, [6, 3]);
    // Rows 0 and 2 gather once, row 4 twice: (1,2,3) + (7,8,9).
    assert.deepEqual(fullSum, [4, 5, 6, 0, 0, 0, 10, 11, 12, 0, 0, 0, 8, 10, 12, 0, 0, 0]);
    assert.ok(
      shapeSum.every((v) => v === 0),
      'shape-only: not computed',
    );
    tf.dispose([table, indices, rows]);
  },
);
