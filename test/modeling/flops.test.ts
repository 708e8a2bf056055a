import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../src/core/layer.js';
import { ResNet, RESNET_SPECS } from '../../src/modeling/backbones/resnet.js';
import { countFlops, kernelMultiplyAdds } from '../../src/modeling/flops.js';
import { Dense } from '../../src/modeling/layers/dense.js';

await initBackend('cpu');

/** Independent multiply-add tally of a v0 bottleneck ResNet on an s×s input (s divisible by 32). */
function resnetMacs(depth: number, s: number): number {
  let macs = (s / 2) ** 2 * 7 * 7 * 3 * 64;
  let size = s / 4;
  let inC = 64;
  (RESNET_SPECS[depth] ?? []).forEach(([, f, repeats], i) => {
    for (let b = 0; b < repeats; b++) {
      const inSize = size;
      if (b === 0 && i > 0) size /= 2;
      const out = 4 * f;
      macs += inSize ** 2 * inC * f; // 1×1 reduce (stride 1)
      macs += size ** 2 * 9 * f * f; // 3×3 (carries the stride)
      macs += size ** 2 * f * out; // 1×1 expand
      if (b === 0) macs += size ** 2 * inC * out; // projection
      inC = out;
    }
  });
  return macs;
}

test('ResNet-50 at 224 is about 4.1 G multiply-adds (counted at 32 and scaled)', async () => {
  const r = new ResNet({ modelId: 50 });
  const report = await withShapeOnlyBuild(() =>
    countFlops(() => r.apply(tf.zeros([1, 32, 32, 3]))),
  );
  r.dispose();
  assert.equal(report.multiplyAdds, resnetMacs(50, 32));
  assert.equal(report.flops, 2 * report.multiplyAdds);
  // Every conv output side scales by exactly 224/32 = 7 ('same' padding, sides divisible by 32).
  const at224 = report.multiplyAdds * 49;
  assert.equal(at224, resnetMacs(50, 224));
  assert.ok(Math.abs(at224 / 1e9 - 4.1) < 0.05, `${at224}`);
});

test('matmul and depthwise kernels count output elements times the contracted size', async () => {
  const dense = new Dense({ units: 4 });
  const rep = await countFlops(() => dense.apply(tf.ones([2, 3])));
  assert.equal(rep.multiplyAdds, 2 * 4 * 3);
  dense.dispose();
  assert.equal(
    kernelMultiplyAdds(
      'BatchMatMul',
      [
        [2, 5, 7],
        [2, 7, 3],
      ],
      [[2, 5, 3]],
    ),
    2 * 5 * 3 * 7,
  );
  // Transposed a: [k, m].
  assert.equal(
    kernelMultiplyAdds(
      'BatchMatMul',
      [
        [1, 7, 5],
        [1, 7, 3],
      ],
      [[1, 5, 3]],
    ),
    5 * 3 * 7,
  );
  assert.equal(
    kernelMultiplyAdds(
      'DepthwiseConv2dNative',
      [
        [1, 8, 8, 4],
        [3, 3, 4, 1],
      ],
      [[1, 8, 8, 4]],
    ),
    8 * 8 * 4 * 9,
  );
  assert.equal(kernelMultiplyAdds('Relu', [[1, 8]], [[1, 8]]), 0);
});

test('a transposed conv counts input elements times kernel area and output channels', async () => {
  // Mask R-CNN's mask upsampling: 2×2 stride 2, 3 → 5 channels on a 4×4 input: each of the
  // 4·4·3 input elements scatters a 2×2 patch into 5 output channels.
  const x = tf.zeros([2, 4, 4, 3]);
  const k = tf.zeros([2, 2, 5, 3]);
  const rep = await countFlops(() =>
    tf.conv2dTranspose(x as tf.Tensor4D, k as tf.Tensor4D, [2, 8, 8, 5], 2, 'same'),
  );
  assert.equal(rep.multiplyAdds, 2 * 4 * 4 * 3 * 2 * 2 * 5);
  assert.deepEqual(Object.keys(rep.byKernel), ['Conv2DBackpropInput']);
  const empty = await countFlops(
    () =>
      tf.conv2dTranspose(
        tf.zeros([0, 4, 4, 3]) as tf.Tensor4D,
        k as tf.Tensor4D,
        [0, 8, 8, 5],
        2,
        'same',
      ),
    { emptyBatch: true },
  );
  assert.equal(empty.multiplyAdds, rep.multiplyAdds / 2);
  tf.dispose([x, k]);
});
