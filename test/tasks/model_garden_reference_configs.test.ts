/**
 * Model Garden's own params dumps (`config.yaml` of every case under
 * ../shared/data/model-garden-reference, written by MG's `params_dict` from a newer Model Garden
 * than some YAMLs here) load through the case's experiment: every key is known. A dump may still
 * be refused, but only by a field this port marks "not supported yet" (set to a value it does not
 * implement, e.g. the detection cases' `annotation_file`), never by an unknown key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import '../../src/tasks/index.js';
import { resolveExperiment } from '../../src/train/run_experiment.js';
import { sharedData } from '../helpers.js';

const ROOT = sharedData('model-garden-reference');

function cases(): { name: string; experiment: string; dump: string }[] {
  return readdirSync(ROOT)
    .filter((name) => existsSync(`${ROOT}/${name}/case.json`))
    .map((name) => ({
      name,
      experiment: (
        JSON.parse(readFileSync(`${ROOT}/${name}/case.json`, 'utf8')) as {
          experiment: string;
        }
      ).experiment,
      dump: `${ROOT}/${name}/config.yaml`,
    }));
}

test("every reference case's Model Garden params dump has only keys its experiment knows", () => {
  const all = cases();
  assert.ok(all.length >= 11, `found ${all.length} cases`);
  const parsed: string[] = [];
  for (const c of all) {
    try {
      resolveExperiment({ experiment: c.experiment, configFiles: [c.dump] });
      parsed.push(c.name);
    } catch (err) {
      const lines = (err as Error).message.split('\n').slice(1);
      assert.ok(lines.length > 0, `${c.name}: ${(err as Error).message}`);
      for (const line of lines) {
        assert.match(line, /: not supported yet \(/, `${c.name}: ${line.trim()}`);
      }
    }
  }
  for (const name of ['deeplabv3plus', 'resnet_rs', 'vit', 'r3d', 'movinet_a0']) {
    assert.ok(parsed.includes(name), `${name}'s dump parses`);
  }
});

test('the later Model Garden data fields are refused off their dumped values', () => {
  const refused = (experiment: string, override: string, key: RegExp) =>
    assert.throws(
      () => resolveExperiment({ experiment, paramsOverrides: [override] }),
      (err: Error) => key.test(err.message) && /not supported yet/.test(err.message),
    );
  refused(
    'seg_deeplabv3plus_pascal',
    'task.validation_data.centered_crop=true',
    /task\.validation_data\.centered_crop/,
  );
  refused(
    'resnet_rs_imagenet',
    'task.train_data.repeated_augment=2',
    /task\.train_data\.repeated_augment/,
  );
});
