/**
 * SpineNet and Mobile SpineNet compile to one ONNX graph (src/engine) whose endpoints equal the
 * eager ones: the scale-permuted graph, nearest upsampling (reshape + tile), strided resampling,
 * max pools, SE and depthwise convs all lower without an eager fallback.
 */
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { SpineNet } from '../../../src/modeling/backbones/spinenet.js';
import {
  SpineNetMobile,
  spineNetMobileScaling,
} from '../../../src/modeling/backbones/spinenet_mobile.js';
import { assertCompiledMatches, normal } from '../../engine/compile_check.js';

await initBackend('cpu');

test('SpineNet (quarter width, swish): compiled endpoints equal eager', async () => {
  const net = new SpineNet({
    endpointsNumFilters: 32,
    filterSizeScale: 0.25,
    resampleAlpha: 0.5,
    blockRepeats: 1,
    activation: 'swish',
  });
  const inputs = { x: normal([1, 128, 128, 3], 5) };
  tf.tidy(() => void net.apply(inputs.x));
  await assertCompiledMatches('spinenet', inputs, (i) => Object.values(net.apply(i.x)), {
    atolOfScale: true,
  });
  net.dispose();
});

test('Mobile SpineNet-49XS (hard_swish, SE): compiled endpoints equal eager', async () => {
  const net = new SpineNetMobile({ ...spineNetMobileScaling('49XS'), activation: 'hard_swish' });
  const inputs = { x: normal([1, 128, 128, 3], 6) };
  tf.tidy(() => void net.apply(inputs.x));
  await assertCompiledMatches('spinenet_mobile', inputs, (i) => Object.values(net.apply(i.x)), {
    atolOfScale: true,
  });
  net.dispose();
});
