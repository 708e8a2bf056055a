/**
 * Non-causal MoViNet variants compile to one ONNX graph (src/engine) whose logits equal the eager
 * ones: '2plus1d' convolutions with SE '2plus3d' (the pooled clip tiled over frames), '3d' with
 * per-frame SE '2d', and '3d_2plus1d' without SE. ReZero scalars set to 0.5 so the blocks count.
 */
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import {
  buildMovinetModel,
  parseMovinetModelConfig,
} from '../../../src/modeling/models/movinet_model.js';
import { assertCompiledMatches, normal } from '../../engine/compile_check.js';

await initBackend('cpu');

for (const [convType, seType] of [
  ['2plus1d', '2plus3d'],
  ['3d', '2d'],
  ['3d_2plus1d', 'none'],
]) {
  test(`MoViNet-T0 non-causal (${convType}, SE ${seType}): compiled logits equal eager`, async () => {
    setGlobalSeed(3);
    const model = buildMovinetModel(
      parseMovinetModelConfig({
        backbone: { movinet: { model_id: 't0', conv_type: convType, se_type: seType } },
      }),
      5,
    );
    const inputs = { x: normal([1, 3, 32, 32, 3], 9) };
    tf.tidy(() => {
      model.apply({ image: inputs.x });
    });
    for (const w of model.weights()) if (w.variable.rank === 0) w.variable.assign(tf.scalar(0.5));
    await assertCompiledMatches(`${convType}/${seType}`, inputs, (i) => [
      model.apply({ image: i.x }).logits,
    ]);
    model.dispose();
  });
}
