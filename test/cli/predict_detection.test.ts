/**
 * `predict` on a detection experiment, end to end through commander (the CLI over the library's
 * VisionModel.predict and RetinaNetTask.inference): a tiny RetinaNet (ResNet-10,
 * FPN levels 3–5, one anchor per location, 3 classes) whose class bias makes class 1 score ≈ 0.95
 * everywhere is saved as a `.vgckpt`; a generated 192×96 (h×w) PNG goes through `predict`
 * (onnx backend: the model and its NMS compiled). Checked against hand-derived values and an
 * independent eager forward:
 * - image_info of the RetinaNet eval path is [[192, 96], [64, 64], [1/3, 1/3], [0, 0]] (fit into
 *   64×64 keeping the aspect ratio: content 64×32, padded), so every box in original pixels is 3×
 *   the model's box, clipped to the image;
 * - the printed and JSON detections equal the eager model's detections (clipped to 64×64 as MG's
 *   evaluation does, then ×3 and clipped to 192×96) in class, score (1e-4) and box (1e-3 px);
 * - the annotated PNG has the image's size, differs from the input on every box's left edge, and
 *   equals it away from the boxes and their label tags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tasks/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { setGlobalSeed } from '../../src/core/random.js';
import { cocoLabelMap } from '../../src/data/label_maps/coco.js';
import { retinaNetEvalImage } from '../../src/data/parsers/retinanet_parser.js';
import { registerPredict, type PredictResult } from '../../src/cli/predict.js';
import { boxToOriginal, type ImageFrame } from '../../src/core/inference.js';
import type { RetinaNetExperimentConfig } from '../../src/tasks/retinanet/config.js';
import { RetinaNetTask } from '../../src/tasks/retinanet/task.js';
import { CheckpointManager, tensorsFromVariables } from '../../src/train/checkpoint.js';
import { resolveExperiment } from '../../src/train/run_experiment.js';

await initBackend('cpu');

const [H, W] = [192, 96];

const CONFIG = {
  task: {
    model: {
      num_classes: 3,
      input_size: [64, 64, 3],
      min_level: 3,
      max_level: 5,
      anchor: { num_scales: 1, aspect_ratios: [1.0], anchor_size: 3 },
      backbone: { type: 'resnet', resnet: { model_id: 10 } },
      decoder: { type: 'fpn', fpn: { num_filters: 16 } },
      head: { num_convs: 1, num_filters: 16 },
      detection_generator: { max_num_detections: 3 },
    },
  },
};

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

/** A smooth colour pattern, h×w RGB. */
function pattern(): Uint8Array {
  const data = new Uint8Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      data[i] = (y * 255) / H;
      data[i + 1] = (x * 255) / W;
      data[i + 2] = 96;
    }
  }
  return data;
}

test('boxToOriginal undoes the frame scale and clips to the image', () => {
  // Original 100×200 scaled by 0.5 into 50×100 (the eval path has no crop offset).
  const frame: ImageFrame = { original: [100, 200], scaled: [50, 100], scale: [0.5, 0.5] };
  assert.deepEqual(boxToOriginal([5, 10, 15, 30], frame), [10, 20, 30, 60]);
  assert.deepEqual(boxToOriginal([-10, -20, 60, 200], frame), [0, 0, 100, 200]);
});

test('the COCO label map names Model Garden class ids (91 classes, gaps unnamed)', () => {
  const m = cocoLabelMap(91);
  assert.equal(m.get(1)?.name, 'person');
  assert.equal(m.get(90)?.name, 'toothbrush');
  assert.equal(m.get(12), undefined); // id 12 is unused in COCO 2017
  assert.equal(m.size, 81);
  assert.throws(() => cocoLabelMap(10), /at least 91/);
});

test('predict on a RetinaNet checkpoint prints and writes detections in original pixels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-predict-det-'));
  try {
    const configPath = join(dir, 'tiny.yaml');
    writeFileSync(configPath, JSON.stringify(CONFIG));
    const cfg = resolveExperiment({ experiment: 'retinanet', configFiles: [configPath] })
      .config as RetinaNetExperimentConfig;
    setGlobalSeed(3);
    const task = new RetinaNetTask(cfg.task);
    const model = task.buildModel();
    tf.tidy(() => void model.apply(tf.zeros([1, 64, 64, 3]), { training: false }));
    // Class logits: background and class 2 at -5, class 1 at +3 (+ the small random kernel).
    const bias = model.weights().find((w) => /scores\/bias$/.test(w.path));
    assert.ok(bias, 'the head has a scores/bias');
    bias.variable.assign(tf.tensor1d([-5, 3, -5]));
    const tensors = await tensorsFromVariables(
      model.weights().map((w) => ({ name: `model/${w.path}`, tensor: w.variable })),
    );
    const ckpt = await new CheckpointManager(join(dir, 'model')).save(1, { tensors });

    const png = join(dir, 'input.png');
    const pixels = pattern();
    writeFileSync(
      png,
      await sharp(Buffer.from(pixels), { raw: { width: W, height: H, channels: 3 } })
        .png()
        .toBuffer(),
    );

    // Independent eager forward on the eval-path input; image_info checked by hand.
    const decoded = { data: pixels, height: H, width: W, channels: 3 };
    const { image, imageInfo } = retinaNetEvalImage(
      task.parserOptionsFor(cfg.task.validation_data),
      decoded,
    );
    // [original size, desired size, scale, offset] (MG resize_and_crop_image), float32.
    assert.deepEqual(
      Array.from(imageInfo),
      Array.from(Float32Array.of(H, W, 64, 64, 1 / 3, 1 / 3, 0, 0)),
    );
    const want = tf.tidy(() => {
      const out = model.apply(
        { images: tf.tensor4d(image, [1, 64, 64, 3]), imageShape: tf.tensor2d([[64, 64]]) },
        { training: false },
      );
      return {
        n: out.num_detections!.dataSync()[0],
        boxes: out.detection_boxes!.dataSync(),
        scores: out.detection_scores!.dataSync(),
        classes: out.detection_classes!.dataSync(),
      };
    });
    model.dispose();
    assert.equal(want.n, 3);

    const annotated = join(dir, 'annotated.png');
    const base = ['--experiment', 'retinanet', '--config_file', configPath];
    const json = JSON.parse(
      await runPredict([
        ...base,
        '--checkpoint',
        join(dir, 'model'),
        '--json',
        '--output',
        annotated,
        png,
      ]),
    ) as PredictResult;
    assert.equal(json.checkpoint, ckpt);
    assert.equal(json.minScore, 0.3);
    assert.equal(json.predictions.length, 1);
    const p = json.predictions[0];
    assert.deepEqual([p.image, p.height, p.width, p.annotated], [png, H, W, annotated]);
    const dets = p.detections!;
    assert.equal(dets.length, 3);
    for (let i = 0; i < 3; i++) {
      const d = dets[i];
      assert.equal(d.classId, want.classes[i]);
      assert.equal(d.classId, 1);
      assert.equal(d.name, 'class 1');
      assert.ok(
        Math.abs(d.score - want.scores[i]) <= 1e-4,
        `score ${d.score} vs ${want.scores[i]}`,
      );
      for (let k = 0; k < 4; k++) {
        // ×3, clipped to the original image (the model clips to the padded 64×64 only).
        const hand = Math.min(want.boxes[4 * i + k] * 3, k % 2 === 0 ? H : W);
        assert.ok(Math.abs(d.box[k] - hand) <= 1e-3, `box ${i}[${k}]: ${d.box[k]} vs ${hand}`);
      }
    }

    // The printed table: one line per detection with its score and box.
    const text = await runPredict([...base, '--checkpoint', ckpt, png]);
    assert.match(text, /\(96x192\): 3 detection\(s\) with score >= 0\.3/);
    const rows = [
      ...text.matchAll(/^ {2}class 1 +\(id 1\) +([\d.]+) +\[ymin ([\d.]+), xmin ([\d.]+)/gm),
    ];
    assert.equal(rows.length, 3, text);
    assert.ok(Math.abs(Number(rows[0][2]) - dets[0].box[0]) < 0.06);

    // The annotated image: same size; changed on each box's left edge; unchanged far from boxes.
    const { data: drawn, info } = await sharp(annotated)
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [W, H, 3]);
    const differs = (y: number, x: number) => {
      const i = (y * W + x) * 3;
      return [0, 1, 2].some((c) => drawn[i + c] !== pixels[i + c]);
    };
    const near = new Uint8Array(H * W);
    const tag = 14 + 2; // font 10 + 4 for a 96-px-wide image, and a margin
    for (const d of dets) {
      const [y0, x0, y1, x1] = d.box;
      assert.ok(differs(Math.round((y0 + y1) / 2), Math.min(W - 1, Math.round(x0))), 'box edge');
      for (let y = Math.max(0, Math.floor(y0 - tag)); y < Math.min(H, y1 + 3); y++) {
        for (let x = 0; x < W; x++) {
          const onFrame =
            x >= x0 - 3 && x <= x1 + 3 && (y < y0 + 3 || y > y1 - 3 || x < x0 + 3 || x > x1 - 3);
          if (onFrame || y < y0 + tag) near[y * W + x] = 1;
        }
      }
    }
    let checked = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (near[y * W + x]) continue;
        assert.ok(!differs(y, x), `pixel (${y}, ${x}) changed away from every box`);
        checked++;
      }
    }
    assert.ok(checked > 1000, `only ${checked} pixels away from the boxes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('predict refuses classification-only flags on detection, and --output with several images', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-predict-det-err-'));
  try {
    const configPath = join(dir, 'tiny.yaml');
    writeFileSync(configPath, JSON.stringify(CONFIG));
    const base = ['--experiment', 'retinanet', '--config_file', configPath, '--checkpoint', dir];
    await assert.rejects(
      runPredict([...base, '--top_k', '3', 'a.png']),
      /--top_k applies to classification/,
    );
    await assert.rejects(
      runPredict([...base, '--output', join(dir, 'o.png'), 'a.png', 'b.png']),
      /--output names one annotated image, but 2 images/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
