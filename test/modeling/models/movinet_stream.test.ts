/**
 * MoViNet streaming (official/projects/movinet: causal models with stream buffers, cumulative SE
 * pools and the head's running pool): a causal model's logits on a whole clip equal the logits
 * after its last frame when the clip is fed to ONE compiled inference graph (compileModel with
 * `state/*` inputs and outputs, runStream) frame by frame, and in chunks of 2 frames, to 1e-5.
 * Two causal configurations: Model Garden's stream setting ('3d_2plus1d' convolutions, SE
 * '2plus3d', hard-swish, positional encoding) and '2plus1d' convolutions with SE '3d'. ReZero and
 * positional-encoding scalars are set non-zero (they start at 0, which would hide the blocks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { compileModel } from '../../../src/engine/compile_model.js';
import {
  buildMovinetModel,
  initialStreamInputs,
  movinetStreamStep,
  parseMovinetModelConfig,
} from '../../../src/modeling/models/movinet_model.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

const CONFIGS: [string, Record<string, unknown>][] = [
  [
    '3d_2plus1d, SE 2plus3d, hard-swish, positional encoding',
    {
      conv_type: '3d_2plus1d',
      se_type: '2plus3d',
      activation: 'hard_swish',
      gating_activation: 'hard_sigmoid',
      use_positional_encoding: true,
    },
  ],
  ['2plus1d, SE 3d, swish', { conv_type: '2plus1d', se_type: '3d' }],
];

for (const [what, backbone] of CONFIGS) {
  test(`causal MoViNet-A0 (${what}): whole clip = streamed frame by frame and by 2 frames, compiled`, async () => {
    setGlobalSeed(5);
    const model = buildMovinetModel(
      parseMovinetModelConfig({
        backbone: {
          movinet: { model_id: 'a0', causal: true, use_external_states: true, ...backbone },
        },
        dropout_rate: 0,
      }),
      7,
    );
    const T = 4;
    const clip = tf.randomUniform([1, T, 32, 32, 3], 0, 1, 'float32', 11);
    const whole = tf.tidy(() => model.apply({ image: clip }).logits);
    // Non-zero ReZero / positional-encoding weights, and moving variances away from 1.
    for (const w of model.weights()) {
      if (w.variable.rank === 0) w.variable.assign(tf.scalar(0.6));
      if (w.path.endsWith('moving_variance')) w.variable.assign(tf.fill(w.variable.shape, 1.7));
    }
    const want = tf.tidy(() => model.apply({ image: clip }).logits);
    assert.ok(tf.max(tf.abs(tf.sub(want, whole))).dataSync()[0] > 1e-3, 'the blocks contribute');
    const variables = model
      .weights()
      .map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
    const step = movinetStreamStep(model);
    for (const chunk of [1, 2]) {
      const pieces = Array.from({ length: T / chunk }, (_, i) => ({
        image: tf.slice(clip, [0, i * chunk, 0, 0, 0], [-1, chunk, -1, -1, -1]),
      }));
      const initial = initialStreamInputs(model, [1, chunk, 32, 32, 3]);
      const compiled = await compileModel(
        step,
        { ...pieces[0], ...initial },
        {
          variables,
          fallback: 'error',
          intraOpNumThreads: 1,
        },
      );
      const { outputs, state } = await compiled.runStream(pieces, initial);
      assert.equal(compiled.signatures, 1);
      assertClose(outputs[outputs.length - 1].logits.dataSync(), want.dataSync(), {
        atol: 1e-5,
        rtol: 0,
        msg: `chunks of ${chunk}`,
      });
      // The head's frame count saw every frame.
      assert.deepEqual([...state['state/state_head_pool_frame_count'].dataSync()], [T]);
      tf.dispose([
        ...outputs.map((o) => o.logits),
        ...Object.values(state),
        ...Object.values(initial),
      ]);
      tf.dispose(pieces.map((p) => p.image));
      await compiled.dispose();
    }
    tf.dispose([clip, whole, want]);
    model.dispose();
  });
}
