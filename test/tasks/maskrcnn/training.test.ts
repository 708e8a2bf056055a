/**
 * A tiny end-to-end Mask R-CNN run through the registered task: generated rectangles (two
 * classes, polygon segmentations) are written as COCO JSON + PNG files and converted to a
 * detection TFRecord with masks (src/data's COCO converter, include_masks); a compact ResNet +
 * FPN Mask R-CNN trains on it through the Mask R-CNN parser, compiled (the onnx step runner;
 * engine_fallback 'error', so no eager fallback), with finite and falling losses, then one
 * evaluation reports Model Garden's COCO box and mask metrics (ground truth scanned from the records).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { Rng } from '../../../src/core/random.js';
import { cocoToTfRecord } from '../../../src/data/converters/coco.js';
import { encodePng } from '../../../src/data/decoders/image.js';
import { createCompiledStepRunner } from '../../../src/engine/compiled_step.js';
import { readJsonlLog } from '../../../src/train/jsonl_log.js';
import { disposeRun, runExperiment } from '../../../src/train/run_experiment.js';

const SIZE = 32;
const COLORS: Record<number, [number, number, number]> = { 1: [220, 40, 40], 2: [40, 60, 220] };

/** `n` images with 1–2 filled rectangles each (8–15 px a side); COCO annotations beside them. */
async function writeDataset(dir: string, n: number): Promise<string> {
  const rng = new Rng(7);
  const images = [];
  const annotations = [];
  for (let id = 1; id <= n; id++) {
    const data = new Uint8Array(SIZE * SIZE * 3).fill(128);
    const count = 1 + Math.floor(rng.uniform() * 2);
    for (let k = 0; k < count; k++) {
      const cls = 1 + Math.floor(rng.uniform() * 2);
      const w = 8 + Math.floor(rng.uniform() * 8);
      const h = 8 + Math.floor(rng.uniform() * 8);
      const x = k * 16 + Math.floor(rng.uniform() * (16 - Math.min(w, 15)));
      const y = Math.floor(rng.uniform() * (SIZE - h));
      const bw = Math.min(SIZE, x + w) - x;
      for (let yy = y; yy < y + h; yy++) {
        for (let xx = x; xx < x + bw; xx++) data.set(COLORS[cls], (yy * SIZE + xx) * 3);
      }
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: cls,
        bbox: [x, y, bw, h],
        area: bw * h,
        iscrowd: 0,
        segmentation: [[x, y, x + bw, y, x + bw, y + h, x, y + h]],
      });
    }
    const file = `${id}.png`;
    writeFileSync(
      join(dir, file),
      await encodePng({ data, height: SIZE, width: SIZE, channels: 3 }),
    );
    images.push({ id, file_name: file, height: SIZE, width: SIZE });
  }
  const path = join(dir, 'instances.json');
  const categories = [
    { id: 1, name: 'red' },
    { id: 2, name: 'blue' },
  ];
  writeFileSync(path, JSON.stringify({ images, annotations, categories }));
  return path;
}

test('Mask R-CNN trains compiled through the task on a generated TFRecord with masks and evaluates COCO box and mask AP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-maskrcnn-'));
  try {
    const imagesDir = join(dir, 'images');
    mkdirSync(imagesDir);
    const annotationsPath = await writeDataset(imagesDir, 8);
    await cocoToTfRecord({
      annotationsPath,
      imagesDir,
      outputPrefix: join(dir, 'train'),
      numShards: 1,
      includeMasks: true,
    });
    const records = join(dir, 'train-*');
    const configPath = join(dir, 'tiny.yaml');
    const parser = { mask_crop_size: 16, rpn_batch_size_per_im: 64, max_num_instances: 4 };
    writeFileSync(
      configPath,
      JSON.stringify({
        runtime: { engine_fallback: 'error', mixed_precision_dtype: 'float32' },
        task: {
          init_checkpoint: null,
          model: {
            num_classes: 3,
            input_size: [SIZE, SIZE, 3],
            min_level: 1,
            max_level: 3,
            anchor: { num_scales: 1, aspect_ratios: [1.0], anchor_size: 2 },
            backbone: { type: 'compact_resnet', compact_resnet: { model_id: 'xs' } },
            decoder: { type: 'fpn', fpn: { num_filters: 8 } },
            rpn_head: { num_convs: 1, num_filters: 8 },
            detection_head: { num_convs: 0, num_filters: 8, num_fcs: 1, fc_dims: 16 },
            roi_generator: {
              pre_nms_top_k: 64,
              num_proposals: 24,
              test_pre_nms_top_k: 64,
              test_num_proposals: 12,
            },
            roi_sampler: { num_sampled_rois: 16 },
            roi_aligner: { crop_size: 4 },
            detection_generator: { pre_nms_top_k: 32, max_num_detections: 6 },
            mask_head: { num_convs: 1, num_filters: 8 },
            mask_sampler: { num_sampled_masks: 4 },
            mask_roi_aligner: { crop_size: 4 },
            norm_activation: { use_sync_bn: false, norm_momentum: 0.9, norm_epsilon: 1e-3 },
          },
          losses: { l2_weight_decay: 1e-5 },
          train_data: {
            input_path: records,
            is_training: true,
            global_batch_size: 4,
            parser: { ...parser, aug_rand_hflip: true },
          },
          validation_data: {
            input_path: records,
            is_training: false,
            global_batch_size: 4,
            drop_remainder: false,
            parser,
          },
        },
        trainer: {
          train_steps: 20,
          steps_per_loop: 5,
          summary_interval: 5,
          checkpoint_interval: 20,
          validation_interval: 20,
          validation_steps: -1,
          optimizer_config: {
            optimizer: { type: 'adam' },
            learning_rate: { type: 'constant', constant: { learning_rate: 0.003 } },
            warmup: { type: null },
          },
        },
      }),
    );
    const r = await runExperiment({
      compiledSteps: createCompiledStepRunner,
      backend: 'onnx',
      mode: 'train_and_eval',
      experiment: 'maskrcnn_resnetfpn_coco',
      configFiles: [configPath],
      modelDir: join(dir, 'model'),
    });
    const series = (tag: string) =>
      readJsonlLog(join(dir, 'model', 'train', 'metrics.jsonl'))
        .filter((e) => e.tag === tag)
        .map((e) => e.value as number);
    const total = series('total_loss');
    assert.ok(total.length >= 4, `expected a loss every 5 steps, got ${total.length}`);
    for (const k of ['total_loss', 'rpn_score_loss', 'frcnn_cls_loss', 'mask_loss']) {
      const s = series(k);
      assert.ok(s.every(Number.isFinite), `non-finite ${k}: ${s.join(', ')}`);
      assert.ok(s[s.length - 1] < s[0], `${k} did not fall: ${s.join(', ')}`);
    }
    assert.ok(r.eval, 'train_and_eval returns eval results');
    for (const key of [
      'AP',
      'AP50',
      'AP75',
      'APs',
      'ARmax1',
      'ARmax10',
      'ARmax100',
      'mask_AP',
      'mask_AP50',
      'mask_ARmax100',
    ]) {
      const v = r.eval[key];
      assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${key} = ${v}`);
    }
    disposeRun(r);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
