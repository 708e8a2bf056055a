/**
 * FLOPs of every seed RetinaNet row against the seed table (`seed_flops_b` of
 * ../shared/data/model-garden-reference/param_counts.json, copied from the seed README's RetinaNet
 * tables): multiply-adds of one forward (backbone, decoder, head; no anchor decoding or NMS, as
 * Model Garden's count) at the row's input size, counted from the kernels' shapes on an empty batch
 * (`countFlops` with `emptyBatch`), within 5% of the table's FLOPs (the seed's convention counts a
 * multiply-add once). The MobileNetV2 row has no FLOPs in the table ('-').
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { countFlops } from '../../../src/modeling/flops.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { RetinaNetTask } from '../../../src/tasks/retinanet/task.js';
import type { RetinaNetExperimentConfig } from '../../../src/tasks/retinanet/config.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

await initBackend('cpu');

interface MgRow {
  id: string;
  kind: string;
  seed_flops_b: number | null;
  input_size: number[];
}

const ROWS = new Map(
  (
    JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
      rows: MgRow[];
    }
  ).rows
    .filter((r) => r.kind === 'retinanet')
    .map((r) => [r.id, r]),
);

/** Seed row YAML (configs/experiments/retinanet) → its param_counts.json id and experiment. */
const SEED_ROWS: [string, string, string][] = [
  ['resnet50fpn_12ep_coco.yaml', 'retinanet_r50fpn_i640', 'retinanet_resnetfpn_coco'],
  ['resnet50fpn_72ep_coco.yaml', 'retinanet_r50fpn_i640', 'retinanet_resnetfpn_coco'],
  ['coco_spinenet49_tpu.yaml', 'retinanet_spinenet49_i640', 'retinanet_spinenet_coco'],
  ['coco_spinenet96_tpu.yaml', 'retinanet_spinenet96_i1024', 'retinanet_spinenet_coco'],
  ['coco_spinenet143_tpu.yaml', 'retinanet_spinenet143_i1280', 'retinanet_spinenet_coco'],
  ['coco_mobilenetv2_tpu.yaml', 'retinanet_mobilenetv2_i256', 'retinanet_mobile_coco'],
  ['coco_spinenet49_mobile_tpu.yaml', 'retinanet_spinenet49mobile_i384', 'retinanet_mobile_coco'],
];

/** Multiply-adds of one image at the row's input size, from shapes only. */
async function rowMultiplyAdds(file: string, experiment: string): Promise<number> {
  const c = resolveExperiment({
    experiment,
    configFiles: [join(REPO_ROOT, 'configs', 'experiments', 'retinanet', file)],
  }).config as RetinaNetExperimentConfig;
  const [h, w] = c.task.model.input_size;
  setGlobalSeed(0);
  const model = new RetinaNetTask(c.task).buildModel();
  try {
    const report = await withShapeOnlyBuild(() =>
      countFlops(() => model.apply(tf.zeros([0, h, w, 3]), { training: true, stateUpdates: [] }), {
        emptyBatch: true,
      }),
    );
    return report.multiplyAdds;
  } finally {
    model.dispose();
  }
}

test('every seed RetinaNet row counts within 5% of the seed FLOPs', async () => {
  const counted = new Map<string, number>();
  let compared = 0;
  for (const [file, id, experiment] of SEED_ROWS) {
    const row = ROWS.get(id);
    assert.ok(row, `param_counts.json has no row ${id}`);
    if (row.seed_flops_b === null) continue; // the seed table gives '-'
    let macs = counted.get(id);
    if (macs === undefined) {
      macs = await rowMultiplyAdds(file, experiment);
      counted.set(id, macs);
    }
    const ratio = macs / (row.seed_flops_b * 1e9);
    assert.ok(
      Math.abs(ratio - 1) <= 0.05,
      `${file}: ${(macs / 1e9).toFixed(2)} G multiply-adds vs the seed's ${row.seed_flops_b} B (ratio ${ratio.toFixed(3)})`,
    );
    compared++;
  }
  assert.equal(compared, 6, 'six seed rows carry FLOPs');
});

test('shape-only counting equals a real batch-1 count and refuses matmuls', async () => {
  const c = resolveExperiment({
    experiment: 'retinanet_mobile_coco',
    paramsOverrides: ['task.model.input_size=[128,128,3]'],
  }).config as RetinaNetExperimentConfig;
  setGlobalSeed(0);
  const model = new RetinaNetTask(c.task).buildModel();
  try {
    const run = (b: number) => () =>
      model.apply(tf.zeros([b, 128, 128, 3]), { training: true, stateUpdates: [] });
    const real = await withShapeOnlyBuild(() => countFlops(run(1)));
    const empty = await withShapeOnlyBuild(() => countFlops(run(0), { emptyBatch: true }));
    assert.ok(real.multiplyAdds > 0);
    assert.equal(empty.multiplyAdds, real.multiplyAdds);
    assert.deepEqual(empty.byKernel, real.byKernel);
  } finally {
    model.dispose();
  }
  await assert.rejects(
    countFlops(() => tf.matMul(tf.zeros([0, 3]), tf.zeros([3, 4])), { emptyBatch: true }),
    /MatMul on an empty batch cannot be counted from shapes/,
  );
});
