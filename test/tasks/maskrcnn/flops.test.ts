/**
 * FLOPs of the seed Mask R-CNN rows against the seed table (`seed_flops_b` of
 * ../shared/data/model-garden-reference/param_counts.json, copied from the seed README): multiply-
 * adds of one inference at the row's input size (`maskRCNNMultiplyAdds`: backbone, decoder and RPN
 * counted from shapes on an empty batch, every box head on all test_num_proposals RoIs, the mask
 * head on all max_num_detections detections) within 5% of the table's FLOPs. The seed's number is
 * multiply-adds: param_counts.json records Model Garden's `try_count_flops` of the same full
 * inference call, and half of it (`flops_half_b`) is the seed's value within 0.3%.
 *
 * The three Cascade RCNN-RS rows have no FLOPs in the seed table (its cascade table has no FLOPs
 * column) and none in param_counts.json, so there is nothing to compare them with: they are
 * counted (the test prints their totals). Every row's per-RoI box and mask head counts equal a
 * hand tally (the cascade's two class-agnostic box heads included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import {
  maskRCNNMultiplyAdds,
  type MaskRCNNMultiplyAdds,
} from '../../../src/modeling/models/maskrcnn_flops.js';
import { MaskRCNNTask, type MaskRCNNTaskConfig } from '../../../src/tasks/maskrcnn/index.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

// wasm: one RoI through the mask head is ~0.5 G multiply-adds, several times faster than on 'cpu'.
await initBackend('wasm');

interface MgRow {
  id: string;
  exp: string;
  yaml: string;
  kind: string;
  input_size: number[];
  overrides: unknown;
  seed_flops_b: number | null;
  flops_half_b?: number;
}

const ROWS = (
  JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
    rows: MgRow[];
  }
).rows.filter((r) => r.kind === 'maskrcnn' && r.overrides === null);

async function rowMultiplyAdds(row: MgRow): Promise<MaskRCNNMultiplyAdds> {
  const file = row.yaml.slice(row.yaml.lastIndexOf('/') + 1);
  const { config } = resolveExperiment({
    experiment: row.exp,
    configFiles: [join(REPO_ROOT, 'configs', 'experiments', 'maskrcnn', file)],
  });
  setGlobalSeed(0);
  const task = new MaskRCNNTask(config.task as MaskRCNNTaskConfig);
  const [h, w] = task.config.model.input_size;
  const model = task.buildModel();
  try {
    // Every weight first (zeros, from a small input): withShapeOnlyBuild covers synchronous code
    // only, and the count awaits between its parts.
    withShapeOnlyBuild(() => model.buildWeights([128, 128]));
    return await maskRCNNMultiplyAdds(model, [h, w]);
  } finally {
    model.dispose();
  }
}

test('every seed Mask R-CNN row counts within 5% of the seed FLOPs; heads per RoI by hand', async (t) => {
  assert.equal(ROWS.length, 7, 'param_counts.json lists the 7 seed rows');
  const counted = new Map<string, MaskRCNNMultiplyAdds>();
  for (const row of ROWS) {
    const m = await rowMultiplyAdds(row);
    counted.set(row.id, m);
    assert.equal(m.numProposals, 1000, `${row.id}: test_num_proposals`);
    assert.equal(m.numDetections, 100, `${row.id}: max_num_detections`);
    t.diagnostic(
      `${row.id}: ${(m.total / 1e9).toFixed(2)} G multiply-adds (image ${(m.image / 1e9).toFixed(2)} G, ` +
        `box heads ${m.perRoiBoxHeads.map((b) => (b / 1e6).toFixed(1)).join(' + ')} M/RoI, ` +
        `mask head ${(m.perRoiMaskHead / 1e6).toFixed(1)} M/RoI)` +
        (row.seed_flops_b === null ? '' : ` vs the seed's ${row.seed_flops_b} B`),
    );
  }
  // By hand (256 filters, 91 classes): box head 4 × 3×3 convs on 7×7 (49·9·256²), fc 12544 → 1024,
  // class 1024 → 91, boxes 1024 → 4·91 (class-agnostic: 4); mask head 4 × 3×3 convs on 14×14,
  // the 2×2/2 transposed conv (14²·2²·256²) and the 1×1 logits on 28×28 (28²·256·91).
  const convs = 4 * 49 * 9 * 256 * 256 + 12544 * 1024 + 1024 * 91;
  const maskHead = 4 * 196 * 9 * 256 * 256 + 196 * 4 * 256 * 256 + 784 * 256 * 91;
  for (const row of ROWS) {
    const m = counted.get(row.id)!;
    const boxes = row.id.startsWith('cascade') ? 1024 * 4 : 1024 * 4 * 91;
    assert.deepEqual(
      m.perRoiBoxHeads,
      new Array(row.id.startsWith('cascade') ? 2 : 1).fill(convs + boxes),
      `${row.id}: box heads per RoI`,
    );
    assert.equal(m.perRoiMaskHead, maskHead, `${row.id}: mask head per RoI`);
  }
  let compared = 0;
  for (const row of ROWS) {
    const m = counted.get(row.id)!;
    if (row.seed_flops_b === null) continue;
    const ratio = m.total / (row.seed_flops_b * 1e9);
    assert.ok(
      Math.abs(ratio - 1) <= 0.05,
      `${row.id}: ${(m.total / 1e9).toFixed(2)} G multiply-adds vs the seed's ${row.seed_flops_b} B (ratio ${ratio.toFixed(3)})`,
    );
    compared++;
  }
  assert.equal(compared, 4, 'the four Mask R-CNN rows carry FLOPs');
});
