/**
 * Every YAML under configs/experiments/semantic_segmentation resolves through the experiment its
 * header names (`Run with: --experiment X`), and the task accepts it (inputs' parser options
 * included). The two PASCAL seed-row YAMLs write out their experiment factory, so the resolved
 * config equals the factory's own; the shapes YAML resolves on `semantic_segmentation`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../../src/tasks/index.js';
import { getExperiment } from '../../../src/core/registry.js';
import { SemanticSegmentationTask } from '../../../src/tasks/semantic_segmentation/task.js';
import type { SemanticSegmentationExperimentConfig } from '../../../src/tasks/semantic_segmentation/config.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { REPO_ROOT } from '../../helpers.js';

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'semantic_segmentation');

function experimentOf(file: string): string {
  const m = /--experiment (\S+)/.exec(readFileSync(join(DIR, file), 'utf8'));
  assert.ok(m, `${file}: the header names no --experiment`);
  return m[1];
}

test('each segmentation YAML resolves through its experiment and the task accepts it', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 5, `found ${files.join(', ')}`);
  for (const file of files) {
    const experiment = experimentOf(file);
    const { config } = resolveExperiment({ experiment, configFiles: [join(DIR, file)] });
    const cfg = config as unknown as SemanticSegmentationExperimentConfig;
    const task = new SemanticSegmentationTask(cfg.task);
    task.parserOptionsFor(cfg.task.train_data, 'train_data');
    task.parserOptionsFor(cfg.task.validation_data, 'validation_data');
    if (file.includes('pascal')) {
      const factory = getExperiment(experiment).factory() as SemanticSegmentationExperimentConfig;
      // The YAML leaves input paths and the checkpoint to the factory; everything else agrees.
      assert.deepEqual(cfg, factory, file);
    }
  }
});
