/**
 * `vision-garden predict`: Model Garden's eval preprocessing against an independent JS
 * reference, the label maps, and the command end to end on a compact ResNet trained a few steps
 * on vg_shapes, predicting a rendered shape PNG.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tasks/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { Rng } from '../../src/core/random.js';
import { renderShape, SHAPE_CLASS_NAMES } from '../../src/data/synthetic/shapes.js';
import { IMAGENET_CLASS_NAMES, imagenetLabelMap } from '../../src/data/label_maps/imagenet.js';
import { centerCropWindow } from '../../src/data/ops/crop.js';
import {
  classNamesFor,
  preprocessForEval,
  registerPredict,
  topKIndices,
} from '../../src/cli/predict.js';
import { ImageClassificationTask } from '../../src/tasks/image_classification/task.js';
import type { ImageClassificationExperimentConfig } from '../../src/tasks/image_classification/config.js';
import {
  readCheckpointFile,
  writeCheckpointFile,
  type StoredTensor,
} from '../../src/train/checkpoint.js';
import { disposeRun, resolveExperiment, runExperiment } from '../../src/train/run_experiment.js';
import { assertClose } from '../helpers.js';

await initBackend('cpu');

// ------------------------------------------------------------------ independent references

/** TF2 `tf.image.resize` bilinear (half-pixel centers, no antialias) on HWC floats, plain JS. */
function referenceResize(
  src: Float64Array,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): Float64Array {
  const out = new Float64Array(oh * ow * c);
  const axis = (i: number, inSize: number, outSize: number) => {
    const x = (i + 0.5) * (inSize / outSize) - 0.5;
    const f = Math.floor(x);
    return { lo: Math.max(f, 0), hi: Math.min(Math.ceil(x), inSize - 1), t: x - f };
  };
  for (let y = 0; y < oh; y++) {
    const ay = axis(y, h, oh);
    for (let x = 0; x < ow; x++) {
      const ax = axis(x, w, ow);
      for (let k = 0; k < c; k++) {
        const at = (r: number, q: number) => src[(r * w + q) * c + k];
        const top = at(ay.lo, ax.lo) + (at(ay.lo, ax.hi) - at(ay.lo, ax.lo)) * ax.t;
        const bot = at(ay.hi, ax.lo) + (at(ay.hi, ax.hi) - at(ay.hi, ax.lo)) * ax.t;
        out[(y * ow + x) * c + k] = top + (bot - top) * ay.t;
      }
    }
  }
  return out;
}

const MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255];
const STD = [0.229 * 255, 0.224 * 255, 0.225 * 255];

/** Crop rows/cols [top, top+size) x [left, left+size), resize, normalise: MG's eval parser. */
function referencePreprocess(
  img: Uint8Array,
  h: number,
  w: number,
  crop: { top: number; left: number; size: number } | null,
  oh: number,
  ow: number,
): Float64Array {
  const c = 3;
  const box = crop ?? { top: 0, left: 0, size: -1 };
  const ch = crop ? crop.size : h;
  const cw = crop ? crop.size : w;
  const cropped = new Float64Array(ch * cw * c);
  for (let y = 0; y < ch; y++)
    for (let x = 0; x < cw; x++)
      for (let k = 0; k < c; k++)
        cropped[(y * cw + x) * c + k] = img[((y + box.top) * w + (x + box.left)) * c + k];
  const r = referenceResize(cropped, ch, cw, c, oh, ow);
  for (let i = 0; i < r.length; i++) r[i] = (r[i] - MEAN[i % 3]) / STD[i % 3];
  return r;
}

function handCropWindow(h: number, w: number, fraction: number) {
  const side = fraction * Math.min(h, w);
  return {
    top: Math.trunc((h - side) / 2),
    left: Math.trunc((w - side) / 2),
    size: Math.trunc(side),
  };
}

function randomImage(h: number, w: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: h * w * 3 }, () => rng.int(256));
}

// ------------------------------------------------------------------ preprocessing

test('eval preprocessing equals a plain-JS crop + TF bilinear resize + normalisation', async () => {
  const cases: [number, number, number | null, number, number][] = [
    [10, 7, 0.875, 4, 5], // downscale after the crop
    [9, 12, 0.875, 13, 11], // upscale after the crop
    [6, 8, null, 9, 4], // no crop: the whole image resized
  ];
  for (const [h, w, fraction, oh, ow] of cases) {
    const img = randomImage(h, w, h * 100 + w);
    const got = preprocessForEval(
      { data: img, height: h, width: w, channels: 3 },
      { outputSize: [oh, ow], centerCropFraction: fraction, mean: MEAN, stddev: STD },
    );
    assert.deepEqual(got.shape, [oh, ow, 3]);
    // The window by hand: side trunc(0.875 · short side), offsets trunc((dim - side) / 2).
    const crop = fraction === null ? null : handCropWindow(h, w, fraction);
    const shared = fraction === null ? null : centerCropWindow(h, w, fraction);
    if (crop && shared) {
      assert.deepEqual(
        [shared.offsetY, shared.offsetX, shared.height, shared.width],
        [crop.top, crop.left, crop.size, crop.size],
      );
    }
    const want = referencePreprocess(img, h, w, crop, oh, ow);
    assertClose(await got.data(), want, { rtol: 1e-5, atol: 1e-4, msg: `${h}x${w}->${oh}x${ow}` });
    got.dispose();
  }
  assert.throws(
    () =>
      preprocessForEval(
        { data: new Uint8Array(12), height: 2, width: 2, channels: 3 },
        {
          outputSize: [2, 2],
          centerCropFraction: null,
          mean: MEAN,
          stddev: STD,
          resizeMethod: 'bicubic',
        },
      ),
    /tf_resize_method 'bicubic'/,
  );
});

test('topKIndices ranks by value, ties to the lower index', () => {
  assert.deepEqual(topKIndices([0.1, 0.5, 0.2, 0.5, 0.05], 3), [1, 3, 2]);
  assert.deepEqual(topKIndices([3, 1, 2], 5), [0, 2, 1]);
});

// ------------------------------------------------------------------ class names

const configOf = (experiment: string, overrides: string[] = []) =>
  resolveExperiment({ experiment, paramsOverrides: overrides })
    .config as unknown as ImageClassificationExperimentConfig;

test('ImageNet label map: ILSVRC-2012 order, 1001 classes with background at 0', async () => {
  assert.equal(IMAGENET_CLASS_NAMES.length, 1000);
  // Well-known ILSVRC-2012 class indices (the synsets sorted by WordNet id).
  const known: [number, string][] = [
    [0, 'tench'],
    [1, 'goldfish'],
    [2, 'great white shark'],
    [207, 'golden retriever'],
    [281, 'tabby'],
    [340, 'zebra'],
    [409, 'analog clock'],
    [948, 'Granny Smith'],
    [999, 'toilet tissue'],
  ];
  for (const [id, name] of known) assert.equal(IMAGENET_CLASS_NAMES[id], name, `class ${id}`);
  // ILSVRC-2012 has two 'crane' synsets (the bird and the machine): the names tell them apart.
  assert.match(IMAGENET_CLASS_NAMES[134], /crane/);
  assert.equal(IMAGENET_CLASS_NAMES[517], 'crane');
  assert.equal(new Set(IMAGENET_CLASS_NAMES).size, 1000);

  const mg = await classNamesFor(configOf('resnet_imagenet').task);
  assert.equal(mg.map.size, 1001);
  assert.equal(mg.map.get(0)?.name, 'background');
  assert.equal(mg.map.get(1)?.name, 'tench');
  assert.equal(mg.map.get(282)?.name, 'tabby');
  assert.equal(mg.map.get(1000)?.name, 'toilet tissue');
  assert.equal(imagenetLabelMap(1000).get(281)?.name, 'tabby');
  assert.throws(() => imagenetLabelMap(10), /1000 or 1001/);
});

test('class names: the built-in dataset, a --label_map file, or bare ids', async () => {
  const shapes = await classNamesFor(configOf('compact_resnet_shapes').task);
  assert.deepEqual(
    [...shapes.map.values()].map((i) => i.name),
    [...SHAPE_CLASS_NAMES],
  );
  assert.match(shapes.source, /vg_shapes/);
  const fm = await classNamesFor(configOf('compact_resnet_fashion_mnist').task);
  assert.equal(fm.map.get(9)?.name, 'Ankle boot');

  const dir = mkdtempSync(join(tmpdir(), 'vg-labels-'));
  const file = join(dir, 'names.json');
  writeFileSync(file, JSON.stringify(['a', 'b', 'c']));
  const custom = await classNamesFor(configOf('compact_resnet_shapes').task, file);
  assert.equal(custom.map.get(2)?.name, 'c');
  assert.equal(custom.source, file);

  const plain = await classNamesFor(
    configOf('compact_resnet_shapes', [
      "task.model.num_classes=12,task.train_data.tfds_name='',task.validation_data.tfds_name=''",
    ]).task,
  );
  assert.equal(plain.map.get(11)?.name, 'class 11');
});

// ------------------------------------------------------------------ end to end

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

interface Printed {
  name: string;
  id: number;
  percent: number;
}

function parseRows(text: string): Printed[] {
  return [...text.matchAll(/^ {2}\d+\. (\S+)\s+\(id (\d+)\)\s+([\d.]+)%$/gm)].map((m) => ({
    name: m[1],
    id: Number(m[2]),
    percent: Number(m[3]),
  }));
}

test('predict prints the top-5 shapes of a trained checkpoint, as an independent forward', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-predict-'));
  const steps = 6;
  const run = await runExperiment({
    mode: 'train',
    experiment: 'compact_resnet_shapes',
    modelDir: dir,
    backend: 'wasm',
    paramsOverrides: [
      `trainer.train_steps=${steps},trainer.checkpoint_interval=${steps},` +
        `trainer.steps_per_loop=${steps},trainer.summary_interval=${steps}`,
    ],
  });
  assert.equal(run.step, steps);
  disposeRun(run);

  const { image } = renderShape('circle', { seed: 11 });
  const png = join(dir, 'circle.png');
  writeFileSync(
    png,
    await sharp(Buffer.from(image), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const out = await runPredict([
    '--experiment',
    'compact_resnet_shapes',
    '--checkpoint',
    dir,
    '--backend',
    'wasm',
    png,
  ]);
  assert.match(out, new RegExp(`checkpoint: .*ckpt-${steps}\\.vgckpt`));
  assert.match(out, /labels: vg_shapes class names/);
  const rows = parseRows(out);
  assert.equal(rows.length, 5, out);

  // Independent forward: weights assigned by hand from the file, the PNG preprocessed by the
  // plain-JS reference (32x32 -> center 28x28 crop at (2, 2) -> 32x32), softmax over the logits.
  const ckpt = await readCheckpointFile(join(dir, `ckpt-${steps}.vgckpt`));
  const cfg = configOf('compact_resnet_shapes');
  const task = new ImageClassificationTask(cfg.task);
  const model = task.buildModel();
  tf.tidy(() => void model.apply(tf.zeros([1, 32, 32, 3])));
  for (const w of model.weights()) {
    const t = ckpt.tensors.get(`model/${w.path}`);
    assert.ok(t, `checkpoint has model/${w.path}`);
    w.variable.assign(tf.tensor(t.data as Float32Array, t.shape));
  }
  const x = referencePreprocess(image, 32, 32, { top: 2, left: 2, size: 28 }, 32, 32);
  const probs = tf.tidy(() =>
    tf.softmax(model.apply(tf.tensor4d(Float32Array.from(x), [1, 32, 32, 3])) as tf.Tensor2D),
  );
  const p = Array.from(await probs.data());
  probs.dispose();
  model.dispose();
  const order = p
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5);
  assert.deepEqual(
    rows.map((r) => r.id),
    order.map(([, i]) => i),
  );
  rows.forEach((r, k) => {
    assert.equal(r.name, SHAPE_CLASS_NAMES[r.id]);
    assert.ok(Math.abs(r.percent - 100 * order[k][0]) <= 0.011, `${r.percent} vs ${order[k][0]}`);
  });

  // EMA averages in the checkpoint are used unless --no_ema: zero logits weights in the EMA
  // copy make every class 1/8.
  const withEma = new Map<string, StoredTensor>(ckpt.tensors);
  for (const [name, t] of ckpt.tensors) {
    if (!name.startsWith('model/')) continue;
    // The logits layer: classification_model/dense/{kernel,bias}.
    const zero = name.startsWith('model/classification_model/dense/');
    withEma.set(`ema/${name.slice(6)}`, zero ? { ...t, data: new Float32Array(t.data.length) } : t);
  }
  const emaFile = join(dir, 'with-ema.vgckpt');
  await writeCheckpointFile(emaFile, { tensors: withEma, meta: ckpt.meta });
  const base = [
    '--experiment',
    'compact_resnet_shapes',
    '--checkpoint',
    emaFile,
    '--backend',
    'wasm',
  ];
  const ema = await runPredict([...base, '--top_k', '8', png]);
  assert.match(ema, /\(EMA weights\)/);
  const emaRows = parseRows(ema);
  assert.equal(emaRows.length, 8);
  for (const r of emaRows) assert.equal(r.percent, 12.5, ema);
  const raw = parseRows(await runPredict([...base, '--no_ema', png]));
  assert.deepEqual(raw, rows);
  // --backend onnx runs the classifier compiled (engine_fallback 'error' under the test runner):
  // the same ranking and percentages.
  const onnx = parseRows(await runPredict([...base.slice(0, -1), 'onnx', '--no_ema', png]));
  assert.deepEqual(
    onnx.map((r) => r.id),
    rows.map((r) => r.id),
  );
  onnx.forEach((r, k) => assert.ok(Math.abs(r.percent - rows[k].percent) <= 0.011, `${r.percent}`));

  // JSON output carries the same ranking.
  const json = JSON.parse(await runPredict([...base, '--no_ema', '--json', png])) as {
    predictions: { top: { id: number; probability: number }[] }[];
  };
  assert.deepEqual(
    json.predictions[0].top.map((t) => t.id),
    order.map(([, i]) => i),
  );

  // Errors name what is wrong.
  await assert.rejects(
    runPredict([...base, '--params_override', 'runtime.engine_fallback=warn', png]),
    /runtime\.engine_fallback applies to the compiled model \(--backend onnx\)/,
  );
  await assert.rejects(
    runPredict(['--experiment', 'compact_resnet_shapes', '--checkpoint', join(dir, 'nope'), png]),
    /checkpoint '.*nope' does not exist/,
  );
  await assert.rejects(
    runPredict([
      ...base,
      '--params_override',
      'task.model.backbone.compact_resnet.model_id=s',
      png,
    ]),
    /cannot restore from .*with-ema\.vgckpt/,
  );
  await assert.rejects(runPredict([...base, join(dir, 'missing.png')]), /cannot read image/);
});
