/**
 * The separable RetinaNet head with Model Garden's RetinaNet losses: loss terms and every
 * gradient of the compiled (ONNX) function equal eager tfjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { Rng, setGlobalSeed } from '../../../src/core/random.js';
import { compileFunction } from '../../../src/engine/compile.js';
import { RetinaNetHead } from '../../../src/modeling/heads/dense_prediction_heads.js';
import { retinanetLosses } from '../../../src/losses/retinanet.js';
import { assertClose } from '../../helpers.js';

await initBackend('wasm');

test('separable RetinaNet head + RetinaNet losses: compiled loss and gradients equal eager', async () => {
  setGlobalSeed(2);
  const head = new RetinaNetHead({
    minLevel: 3,
    maxLevel: 4,
    numClasses: 3,
    numAnchorsPerLocation: 2,
    numConvs: 2,
    numFilters: 8,
    useSeparableConv: true,
    activation: 'swish',
  });
  const rng = new Rng(4);
  const normal = (shape: number[], scale = 1) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
      shape,
    );
  const sizes: Record<string, number> = { '3': 4, '4': 2 };
  const inputs: Record<string, tf.Tensor> = {};
  let anchors = 0;
  for (const [l, s] of Object.entries(sizes)) {
    inputs[`features_${l}`] = normal([2, s, s, 8]);
    inputs[`box_targets_${l}`] = normal([2, s, s, 2 * 4], 0.2);
    inputs[`cls_targets_${l}`] = tf.tensor(
      Int32Array.from({ length: 2 * s * s * 2 }, () => rng.int(5) - 2),
      [2, s, s, 2],
      'int32',
    );
    anchors += s * s * 2;
  }
  const cls = tf.concat(
    Object.keys(sizes).map((l) => tf.reshape(inputs[`cls_targets_${l}`], [2, -1])),
    1,
  );
  inputs.cls_weights = tf.cast(tf.notEqual(cls, -2), 'float32');
  inputs.box_weights = tf.cast(tf.greaterEqual(cls, 0), 'float32');
  assert.equal(cls.shape[1], anchors);
  const levels = (p: string, x: Record<string, tf.Tensor>) =>
    Object.fromEntries(Object.keys(sizes).map((l) => [l, x[`${p}_${l}`]]));
  tf.tidy(() => void head.apply(levels('features', inputs), { training: false }));
  const weights = head.trainableWeights();
  const fn = (x: Record<string, tf.Tensor>) => {
    let terms: tf.Tensor[] = [];
    const { grads } = tf.variableGrads(
      () => {
        const out = head.apply(levels('features', x), { training: true, stateUpdates: [] });
        const l = retinanetLosses(
          {
            clsOutputs: out.scores,
            boxOutputs: out.boxes,
            clsTargets: levels('cls_targets', x),
            boxTargets: levels('box_targets', x),
            clsWeights: x.cls_weights,
            boxWeights: x.box_weights,
          },
          { numClasses: 3 },
        );
        terms = [tf.keep(l.cls_loss), tf.keep(l.box_loss)];
        return l.total_loss;
      },
      weights.map((w) => w.variable),
    );
    return [...terms, ...weights.map((w) => grads[w.variable.name])];
  };
  const compiled = await compileFunction(inputs, fn, { intraOpNumThreads: 1 });
  const got = await compiled.run(inputs);
  const want = fn(inputs);
  assert.ok(want[0].dataSync()[0] > 1e-3 && want[1].dataSync()[0] > 1e-4, 'non-trivial losses');
  // A tower conv's bias feeds a training-mode batch norm, which cancels it: its gradient is zero
  // up to rounding, so gradients are compared with an absolute tolerance from the largest one.
  const maxAbs = (t: tf.Tensor) => Math.max(...Array.from(t.dataSync(), Math.abs));
  const scale = Math.max(...want.slice(2).map(maxAbs));
  want.forEach((w, i) => {
    const name = i < 2 ? ['cls_loss', 'box_loss'][i] : weights[i - 2].path;
    if (i >= 2 && !/-conv_\d+\/bias$/.test(name)) assert.ok(maxAbs(w) > 1e-3 * scale, name);
    const atol = i < 2 ? 0 : 1e-4 * scale;
    assertClose(got[i].dataSync(), w.dataSync(), { rtol: 1e-4, atol, msg: name });
  });
  tf.dispose([...got, ...want, ...Object.values(inputs), cls]);
  await compiled.dispose();
  head.dispose();
});
