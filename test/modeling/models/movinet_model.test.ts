/**
 * MoViNet parameter counts against Model Garden's:
 * - official/projects/movinet/modeling/movinet_model_test.py (`test_movinet_models`: causal,
 *   conv '3d', se '3d', 600 classes): A0 3,126,071 … A5 18,763,355, T0 1,740,502;
 * - the 12 MoViNet seed rows of ../shared/data/model-garden-reference/param_counts.json (made by
 *   Model Garden's own builder), built here from our YAMLs' `task.model`
 *   (configs/experiments/video_classification/movinet_*.yaml) with the row's class count.
 * Shape-only builds (weights as zeros) on a 1×1×32×32 clip: the counts do not depend on the input
 * size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import {
  buildMovinetModel,
  parseMovinetModelConfig,
  type MovinetClassifier,
} from '../../../src/modeling/models/movinet_model.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

await initBackend('cpu');

function countParams(raw: unknown, numClasses: number): { total: number; trainable: number } {
  return withShapeOnlyBuild(() => {
    const model: MovinetClassifier = buildMovinetModel(parseMovinetModelConfig(raw), numClasses);
    try {
      tf.tidy(() => {
        model.apply({ image: tf.zeros([1, 1, 32, 32, 3]) });
      });
      return { total: model.countParams(), trainable: model.countTrainableParams() };
    } finally {
      model.dispose();
    }
  });
}

const MG_TEST_COUNTS: [string, number][] = [
  ['a0', 3_126_071],
  ['a1', 4_717_912],
  ['a2', 5_280_922],
  ['a3', 7_443_289],
  ['a4', 11_422_727],
  ['a5', 18_763_355],
  ['t0', 1_740_502],
];

for (const [id, expected] of MG_TEST_COUNTS) {
  test(`MoViNet-${id.toUpperCase()} causal at 600 classes has movinet_model_test.py's ${expected} parameters`, () => {
    const raw = { backbone: { movinet: { model_id: id, causal: true } } };
    assert.equal(countParams(raw, 600).total, expected);
  });
}

interface Row {
  id: string;
  yaml: string;
  num_classes: number;
  params_total: number;
  params_trainable: number;
}

const rows = (
  JSON.parse(readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8')) as {
    rows: Row[];
  }
).rows.filter((r) => r.id.includes('movinet'));

test('param_counts.json has the 12 MoViNet seed rows', () => {
  assert.equal(rows.length, 12);
});

for (const row of rows) {
  test(`${row.id}: our YAML's task.model has Model Garden's ${row.params_total} parameters`, () => {
    const k = row.id.startsWith('k400') ? 'k400' : 'k600';
    const model = row.yaml.split('/').pop()!.replace('_k600_', `_${k}_`);
    const file = `${REPO_ROOT}/configs/experiments/video_classification/${model}`;
    const cfg = parse(readFileSync(file, 'utf8')) as {
      task: { model: unknown; train_data: { num_classes: number } };
    };
    assert.equal(cfg.task.train_data.num_classes, row.num_classes);
    const counts = countParams(cfg.task.model, row.num_classes);
    assert.equal(counts.total, row.params_total);
    assert.equal(counts.trainable, row.params_trainable);
  });
}
