/**
 * `vision-garden predict` on videos: a training run's directory (params.yaml + checkpoint) of a
 * causal MoViNet stream model predicts a video file (ffmpeg) and the same frames as a folder of
 * PNGs alike and as the library does; `--stream` prints the running top-5 per frame, its last
 * frame equal to the whole-clip prediction; `export --format vg` of the run predicts the same;
 * `--json`; one-line errors for inputs that are not videos and flags that do not apply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, type RawImage } from '../../src/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { writeParamsYaml } from '../../src/core/config/load.js';
import type { ClassificationPrediction } from '../../src/core/inference.js';
import { encodePng } from '../../src/data/decoders/image.js';
import { KINETICS_600_CLASS_NAMES } from '../../src/data/label_maps/kinetics.js';
import { exportModel } from '../../src/cli/export.js';
import { registerPredict, type PredictResult } from '../../src/cli/predict.js';
import { CheckpointManager, tensorsFromVariables } from '../../src/train/checkpoint.js';
import { generatedFrames, writeVideo } from '../video_fixtures.js';

await initBackend('cpu');

const dir = mkdtempSync(join(tmpdir(), 'vg-predict-video-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

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

/** Runs `predict` through commander and returns what it printed. */
async function runPredict(args: string[]): Promise<string> {
  const program = new Command('vision-garden').exitOverride();
  registerPredict(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
  try {
    await program.parseAsync(['predict', ...args], { from: 'user' });
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

// A run directory as the trainer leaves it: params.yaml and a checkpoint (random weights, ReZero
// scalars and moving variances non-zero so every block counts).
const runDir = join(dir, 'run');
const spec = {
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
            use_external_states: true,
            conv_type: '2plus1d',
            se_type: '2plus3d',
            activation: 'hard_swish',
            gating_activation: 'hard_sigmoid',
          },
        },
      },
      train_data: { feature_shape: [4, 32, 32, 3] },
      validation_data: { feature_shape: [4, 32, 32, 3], min_image_size: 32, temporal_stride: 2 },
    },
  },
};
const reference = await createModel(spec);
for (const w of reference.model.weights()) {
  if (w.variable.rank === 0) w.variable.assign(tf.scalar(0.6));
  if (w.path.endsWith('moving_variance')) w.variable.assign(tf.fill(w.variable.shape, 1.7));
}
writeParamsYaml(runDir, reference.info.config);
await new CheckpointManager(runDir).save(1, {
  tensors: await tensorsFromVariables(
    reference.model.weights().map((w) => ({ name: `model/${w.path}`, tensor: w.variable })),
  ),
  meta: {},
});
const expected = (await reference.predict(frames)) as ClassificationPrediction;
await reference.dispose();

const video = join(dir, 'clip.mkv');
writeVideo(video, pixels, { t: T, h: H, w: W }, 'ffv1');
const folder = join(dir, 'frames');
mkdirSync(folder);
for (let t = 0; t < T; t++) {
  writeFileSync(join(folder, `${String(t).padStart(4, '0')}.png`), await encodePng(frames[t]));
}

function assertTop(
  got: { id: number; name: string; probability: number }[],
  want: ClassificationPrediction['classes'],
  msg: string,
) {
  assert.deepEqual(
    got.map((r) => [r.id, r.name]),
    want.map((c) => [c.id, c.label]),
    msg,
  );
  got.forEach((r, i) =>
    assert.ok(
      Math.abs(r.probability - want[i].score) <= 1e-4 * want[i].score,
      `${msg}: ${r.probability} vs ${want[i].score}`,
    ),
  );
}

test('predict --model_dir: a video file and a frame folder, top-5 Kinetics-600 labels, as the library', async () => {
  const json = JSON.parse(
    await runPredict(['--model_dir', runDir, '--json', video, folder]),
  ) as PredictResult;
  assert.match(json.checkpoint, /ckpt-1\.vgckpt$/);
  assert.equal(json.labelSource, 'kinetics600 class names');
  assert.equal(json.predictions.length, 2);
  for (const p of json.predictions) {
    assert.equal(p.top!.length, 5);
    assertTop(p.top!, expected.classes, p.image);
    assert.equal(p.top![0].name, KINETICS_600_CLASS_NAMES[p.top![0].id]);
  }
  const text = await runPredict(['--model_dir', runDir, '--top_k', '3', video]);
  const rows = [...text.matchAll(/^ {2}(\d)\. (.+?)\s+\(id (\d+)\)\s+([\d.]+)%$/gm)];
  assert.deepEqual(
    rows.map((m) => Number(m[3])),
    expected.classes.slice(0, 3).map((c) => c.id),
    text,
  );
});

test('predict --stream: running top-5 per frame; the last frame equals the whole clip', async () => {
  const json = JSON.parse(
    await runPredict(['--model_dir', runDir, '--stream', '--json', video]),
  ) as PredictResult;
  const [p] = json.predictions;
  assert.equal(p.frames!.length, 4);
  assertTop(p.frames![3].top, expected.classes, 'last streamed frame');
  assertTop(p.top!, expected.classes, 'final');
  const text = await runPredict(['--model_dir', runDir, '--stream', video]);
  const lines = text.split('\n').filter((l) => /^ {2}frame \d\/4: /.test(l));
  assert.equal(lines.length, 4, text);
  assert.equal(lines[3].split(' | ').length, 5);
  assert.ok(lines[3].includes(expected.classes[0].label), lines[3]);
});

test('export --format vg of the run predicts the same; errors are one line', async () => {
  const out = join(dir, 'vg');
  const line = await exportModel({ format: 'vg', modelDir: runDir, out });
  assert.match(line, /exported video_classification model/);
  const json = JSON.parse(await runPredict(['--model', out, '--json', folder])) as PredictResult;
  assertTop(json.predictions[0].top!, expected.classes, 'vg model');

  const notVideo = join(dir, 'notes.txt');
  writeFileSync(notVideo, 'not a video\n');
  await assert.rejects(runPredict(['--model', out, notVideo]), (err: Error) => {
    assert.match(err.message, /^predict: .*notes\.txt: not a video ffmpeg can decode/);
    assert.ok(!err.message.includes('\n'), err.message);
    return true;
  });
  await assert.rejects(
    runPredict(['--model', out, '--min_score', '0.5', video]),
    /--min_score applies to detection/,
  );
  await assert.rejects(
    runPredict(['--model', out, '--model_dir', runDir, video]),
    /give --model, --model_dir, or --experiment with --checkpoint \(one of them\)/,
  );
});
