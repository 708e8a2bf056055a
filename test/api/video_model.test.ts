/**
 * Video models through the library (`Task.inference` of the video task, `VisionModel.predict` /
 * `predictStream`): the clip preprocessing samples the frames, resize and crops Model Garden's
 * video parser evaluates (offsets derived by hand here), `predict` equals the task's own
 * multi-view evaluation of the same frames read as a SequenceExample by the parser, the compiled
 * graph equals the eager one, a causal MoViNet stream model streamed frame by frame through one
 * compiled graph predicts after each frame what the frames so far give and ends on the whole
 * clip's prediction, the vg format round-trips, and the class
 * names are Kinetics-400/600's where the config says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  createModel,
  createModelConfig,
  loadModel,
  PredictionServer,
  saveModel,
  toOnnx,
  type ModelSpec,
  type RawImage,
  type VisionModel,
} from '../../src/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import type { ClassificationPrediction } from '../../src/core/inference.js';
import { Rng } from '../../src/core/random.js';
import { encodeVideoExample } from '../../src/data/converters/video.js';
import { encodePng } from '../../src/data/decoders/image.js';
import { createVideoParser } from '../../src/data/parsers/video_parser.js';
import {
  KINETICS_400_CLASS_NAMES,
  KINETICS_600_CLASS_NAMES,
} from '../../src/data/label_maps/kinetics.js';
import { VideoClassificationTask, videoLabels } from '../../src/tasks/video_classification/task.js';
import type { VideoClassificationTaskConfig } from '../../src/tasks/video_classification/config.js';
import { frameColour, generatedFrames } from '../video_fixtures.js';

await initBackend('cpu');

const dir = mkdtempSync(join(tmpdir(), 'vg-video-model-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A causal MoViNet-A0 stream model (MG's stream settings) on 4-frame 32x32 clips. */
function spec(validation: object, external = true): ModelSpec {
  return {
    experiment: 'movinet_kinetics600',
    params: {
      task: {
        model: {
          model_type: 'movinet',
          dropout_rate: 0,
          backbone: {
            type: 'movinet',
            movinet: {
              model_id: 'a0',
              causal: true,
              use_external_states: external,
              conv_type: '2plus1d',
              se_type: '2plus3d',
              activation: 'hard_swish',
              gating_activation: 'hard_sigmoid',
            },
          },
        },
        train_data: { feature_shape: [4, 32, 32, 3] },
        validation_data: {
          feature_shape: [4, 32, 32, 3],
          min_image_size: 32,
          temporal_stride: 2,
          ...validation,
        },
      },
    },
  };
}

/** Non-zero ReZero scalars and moving variances, so every block changes the output. */
function perturb(vm: VisionModel): void {
  for (const w of vm.model.weights()) {
    if (w.variable.rank === 0) w.variable.assign(tf.scalar(0.6));
    if (w.path.endsWith('moving_variance')) w.variable.assign(tf.fill(w.variable.shape, 1.7));
  }
}

const T = 10;
const H = 40;
const W = 48;
const pixels = generatedFrames(T, H, W);
const frames: RawImage[] = Array.from({ length: T }, (_, t) => ({
  data: pixels.slice(t * H * W * 3, (t + 1) * H * W * 3),
  height: H,
  width: W,
  channels: 3,
}));

function classes(p: unknown): ClassificationPrediction['classes'] {
  const pred = p as ClassificationPrediction;
  assert.equal(pred.kind, 'classification');
  return pred.classes;
}

/** Same classes, scores within `rtol` relative (600 near-uniform scores are ~1.7e-3 each). */
function assertSame(a: unknown, b: unknown, rtol: number, msg: string) {
  const x = classes(a);
  const y = classes(b);
  assert.deepEqual(
    x.map((c) => [c.id, c.label]),
    y.map((c) => [c.id, c.label]),
    msg,
  );
  x.forEach((c, i) =>
    assert.ok(
      Math.abs(c.score - y[i].score) <= rtol * y[i].score,
      `${msg}: ${c.score} vs ${y[i].score}`,
    ),
  );
}

test('clip preprocessing: the frames, resize and crops of MG evaluation (derived by hand)', async () => {
  const vm = await createModel(spec({ num_test_clips: 2, num_test_crops: 3 }));
  try {
    const p = vm.preprocessing;
    assert.equal(p.method, 'video_clip');
    assert.deepEqual(p.video, {
      num_frames: 4,
      temporal_stride: 2,
      num_test_clips: 2,
      num_test_crops: 3,
      min_image_size: 32,
    });
    const { inputs } = await vm.preprocess([frames]);
    // 2 clips x 3 crops of 4 frames.
    assert.deepEqual(inputs.image.shape, [1, 24, 32, 32, 3]);
    const x = (await inputs.image.data()) as Float32Array;
    // Clips at linspace(0, 10 - 4 * 2, 2) = [0, 2], frames every 2nd: [0, 2, 4, 6], [2, 4, 6, 8].
    // 40x48 resized to 32x38 (short side 32), crops at x = 0, 3, 6. View k * 2 + c, crop-major.
    const clipFrames = [
      [0, 2, 4, 6],
      [2, 4, 6, 8],
    ];
    const at = (view: number, t: number, y: number, xx: number, c: number) =>
      x[(((view * 4 + t) * 32 + y) * 32 + xx) * 3 + c];
    for (let k = 0; k < 3; k++) {
      for (let c = 0; c < 2; c++) {
        for (let t = 0; t < 4; t++) {
          const want = frameColour(clipFrames[c][t]);
          for (let ch = 0; ch < 3; ch++) {
            assert.ok(
              Math.abs(at(k * 2 + c, t, 31, 0, ch) - want[ch] / 255) < 1e-6,
              `view ${k * 2 + c} frame ${t}`,
            );
          }
        }
      }
    }
    // The white square (rows 4..7, x 2 + 2f .. +3 of 48, i.e. ~x 1.6 + 1.6f of 38) shows in the
    // first crop of frame 0 at x ~2 and lies 6 columns further left in the third crop.
    const white = (view: number, xx: number) => at(view, 0, 4, xx, 1) > 0.9;
    assert.ok(white(0, 2) && !white(0, 10), 'first crop');
    assert.ok(!white(4, 2), 'third crop starts 6 columns right');
    tf.dispose([inputs.image, inputs.image_shape]);
  } finally {
    await vm.dispose();
  }
});

test('predict = the task evaluation of the same frames read by the video parser; compiled = eager', async () => {
  const s = spec({ num_test_clips: 2, num_test_crops: 1 });
  const eager = await createModel(s);
  perturb(eager);
  const compiled = await createModel(s, { compiled: true, fallback: 'error' });
  perturb(compiled);
  try {
    const got = await eager.predict(frames, { topK: 5 });
    // Independent path: a SequenceExample of PNG frames -> MG's video parser (evaluation) ->
    // the task's forward (softmax averaged over the views).
    const pngs = [];
    for (const f of frames) pngs.push(await encodePng(f));
    const bytes = encodeVideoExample({ frames: pngs, label: 0 });
    const config = createModelConfig(s);
    const parse = createVideoParser({
      feature_shape: [4, 32, 32, 3],
      num_classes: 600,
      temporal_stride: 2,
      num_test_clips: 2,
      min_image_size: 32,
    });
    const parsed = await parse(bytes, { training: false, rng: new Rng(0), index: 0, where: 'x' });
    const task = new VideoClassificationTask(config.task as VideoClassificationTaskConfig);
    const probs = tf.tidy(() => {
      const image = tf.tensor5d(parsed.image.data as Float32Array, [2, 4, 32, 32, 3]);
      const label = tf.zeros([1, 600]);
      const { outputs } = task.forward(eager.model as never, { image, label }, { training: false });
      return tf.exp(outputs.logits);
    });
    const p = await probs.data();
    probs.dispose();
    const want = classes(got).map((c) => p[c.id]);
    classes(got).forEach((c, i) =>
      assert.ok(Math.abs(c.score - want[i]) <= 1e-5 * want[i], `${c.score} vs ${want[i]}`),
    );
    assert.ok(
      Math.max(...p) === classes(got)[0].score ||
        Math.abs(Math.max(...p) - classes(got)[0].score) < 1e-6,
    );
    assert.equal(classes(got)[0].label, KINETICS_600_CLASS_NAMES[classes(got)[0].id]);
    assertSame(await compiled.predict(frames), got, 1e-4, 'compiled vs eager');
  } finally {
    await eager.dispose();
    await compiled.dispose();
  }
});

test('a causal MoViNet stream model streamed frame by frame (compiled) ends on the whole-clip prediction', async () => {
  const vm = await createModel(spec({ num_test_clips: 2, num_test_crops: 1 }), {
    compiled: true,
    fallback: 'error',
  });
  perturb(vm);
  try {
    const whole = await vm.predict(frames);
    const streamed = await vm.predictStream(frames);
    assert.equal(streamed.length, 4, 'one prediction per clip frame');
    assertSame(streamed[3], whole, 1e-4, 'last streamed frame vs whole clip');
    // vg format: same predictions after a round trip, preprocessing and labels stored.
    const out = join(dir, 'movinet_vg');
    await saveModel(vm, out);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.equal(json.preprocessing.method, 'video_clip');
    assert.equal(json.labels[0], 'abseiling');
    const loaded = await loadModel(out);
    try {
      assertSame(await loaded.predict(frames), whole, 1e-4, 'vg model (eager) vs compiled');
      const eagerStream = await loaded.predictStream(frames);
      assertSame(eagerStream[3], whole, 1e-4, 'eager stream');
      // Causal: after frame t the stream predicts what the clips' first t + 1 frames give.
      const { inputs } = await loaded.preprocess([frames]);
      for (let t = 0; t < 3; t++) {
        const rows = [0, 1].flatMap((view) =>
          Array.from({ length: t + 1 }, (_, s) => view * 4 + s),
        );
        const image = tf.gather(inputs.image, rows, 1) as unknown as tf.Tensor4D;
        const out = await loaded.run({ image, image_shape: inputs.image_shape });
        const p = await out.probabilities.data();
        for (const c of classes(streamed[t])) {
          assert.ok(
            Math.abs(c.score - p[c.id]) <= 1e-4 * p[c.id],
            `frame ${t}: ${c.score} vs ${p[c.id]}`,
          );
        }
        tf.dispose([image, ...Object.values(out)]);
      }
      tf.dispose([inputs.image, inputs.image_shape]);
    } finally {
      await loaded.dispose();
    }
  } finally {
    await vm.dispose();
  }
});

test('export --format onnx of a video model: views reshaped in the graph, dynamic batch, = eager', async () => {
  const vm = await createModel(spec({ num_test_clips: 2, num_test_crops: 1 }));
  perturb(vm);
  try {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(await toOnnx(vm));
    assert.deepEqual(session.inputNames, ['image']);
    const n = 2;
    const x = Float32Array.from({ length: n * 8 * 32 * 32 * 3 }, (_, i) => (i % 97) / 97);
    const r = await session.run({ image: new ort.Tensor('float32', x, [n, 8, 32, 32, 3]) });
    const image = tf.tensor(x, [n, 8, 32, 32, 3]) as unknown as tf.Tensor4D;
    const shape = tf.ones([n, 2]) as tf.Tensor2D;
    const out = await vm.run({ image, image_shape: shape });
    const want = await out.probabilities.data();
    assert.deepEqual(r.probabilities.dims, [n, 600]);
    const got = r.probabilities.data as Float32Array;
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * want[i], `[${i}] ${got[i]} vs ${want[i]}`);
    }
    tf.dispose([image, shape, ...Object.values(out)]);
    await session.release();
  } finally {
    await vm.dispose();
  }
});

test('models without stream states refuse predictStream; tensor inputs; bad inputs are named', async () => {
  const vm = await createModel(spec({}, false));
  try {
    await assert.rejects(vm.predictStream(frames), /does not stream: it needs a causal MoViNet/);
    await assert.rejects(vm.predict(new Uint8Array(4)), /a video model takes a video file/);
    await assert.rejects(
      vm.predict([{ data: new Uint8Array(5), height: 2, width: 2, channels: 3 }]),
      /video frame 0: expected/,
    );
    await assert.rejects(vm.predict(join(dir, 'missing.mp4')), /cannot read video/);
    assert.throws(() => new PredictionServer(vm), /serve: requests carry one image/);
    // A [T, H, W, 3] tensor of 0..255 values is the same video as its frames.
    const tensor = tf.tensor4d(Float32Array.from(pixels), [T, H, W, 3]);
    assertSame(await vm.predict(tensor), await vm.predict(frames), 1e-6, 'tensor input');
    tensor.dispose();
  } finally {
    await vm.dispose();
  }
});

test('class names: Kinetics-400/600 by data set name or class count, else ids', () => {
  const cfg = (num: number, name?: string) =>
    ({
      train_data: { num_classes: num, name: null },
      validation_data: { name: name ?? null },
    }) as unknown as VideoClassificationTaskConfig;
  assert.equal(videoLabels(cfg(600, 'kinetics600')).labels, KINETICS_600_CLASS_NAMES);
  assert.equal(videoLabels(cfg(400)).labels, KINETICS_400_CLASS_NAMES);
  assert.equal(videoLabels(cfg(8)).labels, null);
  assert.throws(() => videoLabels(cfg(600, 'kinetics400')), /name is kinetics400 \(400 classes\)/);
  assert.equal(KINETICS_400_CLASS_NAMES.length, 400);
  assert.equal(new Set(KINETICS_600_CLASS_NAMES).size, 600);
  assert.equal(KINETICS_400_CLASS_NAMES[399], 'zumba');
});
