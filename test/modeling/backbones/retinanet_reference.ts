/**
 * Numeric check of a backbone against a Model Garden RetinaNet reference case
 * (../shared/data/model-garden-reference/<case>): loads `model/_backbone/...` from the case's TF
 * checkpoint by object path, runs `input.npy`, and feeds the endpoints through the case's head
 * written out here (MG heads/dense_prediction_heads.py RetinaNetHead: per level, `num_convs` shared
 * convs each with that level's BN and the activation, then the output conv; separable convs when
 * the case's head uses them), comparing to `outputs.npz`.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from '../../../src/core/layer.js';
import { openTensorBundle } from '../../../src/interop/tf/bundle_reader.js';
import { getActivation } from '../../../src/modeling/layers/activations.js';
import { readNpy, readNpz } from '../../../src/interop/numpy.js';

export interface ReferenceHead {
  numConvs: number;
  separable: boolean;
  activation: string;
}

/**
 * Asserts the case's 10 outputs (box and class, levels 3..7) match MG's within
 * 1e-4 · max(1, largest magnitude of the output): float32 sums in another order than TF's kernels.
 */
export function assertMatchesReference(
  caseDir: string,
  backbone: Layer<tf.Tensor, Record<string, tf.Tensor>>,
  head: ReferenceHead,
): void {
  const diffs = compareWithReference(caseDir, backbone, head);
  assert.equal(Object.keys(diffs).length, 10);
  for (const [key, { maxDiff, absMax }] of Object.entries(diffs)) {
    assert.ok(maxDiff <= 1e-4 * Math.max(1, absMax), `${key}: max |diff| ${maxDiff}`);
  }
}

/** Max |ours − MG| per output, with MG's largest magnitude of that output. */
function compareWithReference(
  caseDir: string,
  backbone: Layer<tf.Tensor, Record<string, tf.Tensor>>,
  head: ReferenceHead,
): Record<string, { maxDiff: number; absMax: number }> {
  const bundle = openTensorBundle(`${caseDir}/ckpt`);
  const read = (name: string) => {
    const t = bundle.read(`model/${name}/.ATTRIBUTES/VARIABLE_VALUE`);
    return tf.tensor(t.values as Float32Array, t.shape);
  };
  const act = getActivation(head.activation);
  try {
    for (const w of backbone.weights()) {
      const v = read(`_backbone/${w.objectPath}`);
      w.variable.assign(v);
      v.dispose();
    }
    const expected = Object.fromEntries(readNpz(`${caseDir}/outputs.npz`));
    const input = readNpy(`${caseDir}/input.npy`);
    const conv = (x: tf.Tensor, prefix: string) => {
      const y = head.separable
        ? tf.separableConv2d(
            x as tf.Tensor4D,
            read(`_head/${prefix}/depthwise_kernel`) as tf.Tensor4D,
            read(`_head/${prefix}/pointwise_kernel`) as tf.Tensor4D,
            1,
            'same',
          )
        : tf.conv2d(x as tf.Tensor4D, read(`_head/${prefix}/kernel`) as tf.Tensor4D, 1, 'same');
      return tf.add(y, read(`_head/${prefix}/bias`));
    };
    return tf.tidy(() => {
      const features = backbone.apply(tf.tensor(input.data as Float32Array, input.shape));
      const result: Record<string, { maxDiff: number; absMax: number }> = {};
      for (const [branch, last] of [
        ['box', '_box_regressor'],
        ['cls', '_classifier'],
      ]) {
        Object.keys(features).forEach((level, li) => {
          let x = features[level];
          for (let i = 0; i < head.numConvs; i++) {
            const n = `_head/_${branch}_norms/${li}/${i}`;
            x = act(
              tf.batchNorm(
                conv(x, `_${branch}_convs/${i}`),
                read(`${n}/moving_mean`),
                read(`${n}/moving_variance`),
                read(`${n}/beta`),
                read(`${n}/gamma`),
                0.001,
              ),
            );
          }
          const key = `${branch}_outputs/${level}`;
          const got = conv(x, last);
          const want = expected[key];
          assert.ok(want, `${caseDir}/outputs.npz has no ${key}`);
          assert.deepEqual(got.shape, want.shape, key);
          const g = got.dataSync();
          const w = want.data as Float32Array;
          let maxDiff = 0;
          let absMax = 0;
          for (let i = 0; i < g.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(g[i] - w[i]));
            absMax = Math.max(absMax, Math.abs(w[i]));
          }
          result[key] = { maxDiff, absMax };
        });
      }
      return result;
    });
  } finally {
    bundle.close();
  }
}
