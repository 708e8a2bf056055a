/**
 * `vision-garden predict` on a segmentation experiment: a tiny DeepLabV3+ trained two steps on
 * generated shapes predicts a 40 x 56 PNG (not the model's 32 x 32 input, so the result is
 * rescaled); the label map PNG holds one class per original pixel and matches the reported
 * counts, and the overlay keeps background pixels and mixes the others with VOC's colours; the run
 * exported as a vg model predicts the same label map through `predict --model`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import '../../src/tasks/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { decodeImage, encodePng } from '../../src/data/decoders/image.js';
import { segmentationToTfRecord } from '../../src/data/converters/segmentation.js';
import { exportModel } from '../../src/cli/export.js';
import { registerPredict } from '../../src/cli/predict.js';
import { vocColor } from '../../src/cli/predict_segmentation.js';
import { disposeRun, runExperiment } from '../../src/train/run_experiment.js';

await initBackend('cpu');

test('vocColor: the PASCAL VOC colour map', () => {
  // VOC's published colours: 1 aeroplane (128,0,0), 2 (0,128,0), 3 (128,128,0), 15 person
  // (192,128,128).
  assert.deepEqual(vocColor(1), [128, 0, 0]);
  assert.deepEqual(vocColor(2), [0, 128, 0]);
  assert.deepEqual(vocColor(3), [128, 128, 0]);
  assert.deepEqual(vocColor(15), [192, 128, 128]);
});

test('predict writes a label map PNG at the original size and a colour overlay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-seg-predict-'));
  await segmentationToTfRecord({
    layout: 'shapes',
    numExamples: 4,
    imageSize: 32,
    outputPrefix: join(dir, 'train'),
  });
  const configPath = join(dir, 'tiny.yaml');
  writeFileSync(
    configPath,
    JSON.stringify({
      task: {
        model: {
          num_classes: 9,
          input_size: [32, 32, 3],
          backbone: {
            type: 'dilated_resnet',
            dilated_resnet: {
              model_id: 50,
              output_stride: 8,
              block_specs: [
                ['bottleneck', 4, 1],
                ['bottleneck', 4, 1],
                ['bottleneck', 4, 1],
                ['bottleneck', 4, 1],
              ],
            },
          },
          decoder: { type: 'aspp', aspp: { level: 3, dilation_rates: [2], num_filters: 8 } },
          head: { level: 3, num_convs: 1, num_filters: 8, feature_fusion: 'deeplabv3plus' },
        },
        train_data: {
          input_path: join(dir, 'train-*'),
          output_size: [32, 32],
          global_batch_size: 2,
        },
        validation_data: { output_size: [32, 32] },
      },
      trainer: {
        train_steps: 2,
        checkpoint_interval: 2,
        steps_per_loop: 1,
        optimizer_config: {
          optimizer: { type: 'sgd' },
          learning_rate: { type: 'constant', constant: { learning_rate: 0.01 } },
        },
      },
    }),
  );
  const modelDir = join(dir, 'model');
  disposeRun(
    await runExperiment({
      backend: 'cpu',
      mode: 'train',
      experiment: 'semantic_segmentation',
      configFiles: [configPath],
      modelDir,
    }),
  );
  const H = 40;
  const W = 56;
  const rgb = new Uint8Array(H * W * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 256;
  const imagePath = join(dir, 'photo.png');
  writeFileSync(imagePath, await encodePng({ data: rgb, height: H, width: W, channels: 3 }));
  const program = new Command('vision-garden').exitOverride();
  registerPredict(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
  try {
    await program.parseAsync(
      [
        'predict',
        '--experiment',
        'semantic_segmentation',
        '--config_file',
        configPath,
        '--checkpoint',
        modelDir,
        '--backend',
        'cpu',
        '--output_dir',
        join(dir, 'out'),
        '--json',
        imagePath,
      ],
      { from: 'user' },
    );
  } finally {
    console.log = log;
  }
  const result = JSON.parse(lines.join('\n')) as {
    predictions: {
      label_map_png: string;
      overlay_png: string;
      pixel_counts: Record<string, number>;
      height: number;
      width: number;
    }[];
  };
  const p = result.predictions[0];
  assert.deepEqual([p.height, p.width], [H, W]);
  assert.equal(p.label_map_png, join(dir, 'out', 'photo.labels.png'));
  const labels = await decodeImage(readFileSync(p.label_map_png), { channels: 1 });
  assert.deepEqual([labels.height, labels.width], [H, W]);
  const hist: Record<string, number> = {};
  for (const c of labels.data) hist[`class ${c}`] = (hist[`class ${c}`] ?? 0) + 1;
  assert.deepEqual(hist, p.pixel_counts);
  const over = await decodeImage(readFileSync(p.overlay_png), { channels: 3 });
  for (let px = 0; px < H * W; px++) {
    const c = labels.data[px];
    const col = vocColor(c);
    for (let k = 0; k < 3; k++) {
      const want = c === 0 ? rgb[3 * px + k] : Math.round((rgb[3 * px + k] + col[k]) / 2);
      assert.equal(over.data[3 * px + k], want, `pixel ${px} channel ${k} (class ${c})`);
    }
  }
  // `export --format vg` of the run and `predict --model` on it: the same label map and counts.
  await exportModel({ format: 'vg', modelDir, out: join(dir, 'vg') });
  lines.length = 0;
  console.log = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
  try {
    // prettier-ignore
    await program.parseAsync(
      ['predict', '--model', join(dir, 'vg'), '--backend', 'cpu', '--output_dir', join(dir, 'out_vg'), '--json', imagePath],
      { from: 'user' },
    );
  } finally {
    console.log = log;
  }
  const q = (JSON.parse(lines.join('\n')) as typeof result).predictions[0];
  assert.deepEqual(q.pixel_counts, p.pixel_counts);
  const labelsVg = await decodeImage(readFileSync(q.label_map_png), { channels: 1 });
  assert.deepEqual(labelsVg.data, labels.data);
});
