/**
 * Mapping by rule and loading, on real TF checkpoints:
 * - the tf.keras fixture (../shared/data/tf-checkpoint): the mapping must reproduce its
 *   `keras_path_to_checkpoint_key.json` exactly, and the loaded model its TF logits to 1e-4;
 * - Model Garden's resnet_rs and vit cases: every variable maps (object graph, and the key-only
 *   fallback gives the same assignment), the Keras names recorded in the checkpoint agree with ours,
 *   both checkpoint layouts load, and problems are one error with the table, assigning nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tasks/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import type { Layer } from '../../src/core/layer.js';
import { setGlobalSeed } from '../../src/core/random.js';
import type { AnyTask } from '../../src/core/task.js';
import { modelGardenYaml } from '../../src/core/config/index.js';
import { tfCheckpointSource, type CheckpointSource } from '../../src/interop/checkpoint_source.js';
import { loadWeights } from '../../src/interop/load.js';
import { readNpy } from '../../src/interop/numpy.js';
import { graphFromKeys, mapWeights } from '../../src/interop/weight_map.js';
import { resolveExperiment } from '../../src/train/run_experiment.js';
import { REPO_ROOT, sharedData } from '../helpers.js';
import { assertFixtureLogits, SmallResNet } from './small_resnet.js';

await initBackend('cpu');

const MG = (...p: string[]) => sharedData('model-garden-reference', ...p);
const CASES = {
  resnet_rs: {
    experiment: 'resnet_rs_imagenet',
    yaml: 'configs/experiments/image_classification/imagenet_resnetrs50_i160.yaml',
  },
  vit: {
    experiment: 'deit_imagenet_pretrain',
    yaml: 'configs/experiments/image_classification/imagenet_vitti16_i224_tpu.yaml',
  },
} as const;

function buildCase(name: keyof typeof CASES, overrides: string[] = []) {
  const c = CASES[name];
  const r = resolveExperiment({
    experiment: c.experiment,
    configFiles: [
      `${REPO_ROOT}/${c.yaml}`,
      `${REPO_ROOT}/test/fixtures/model_garden_reference/${name}.yaml`,
    ],
    paramsOverrides: overrides,
  });
  setGlobalSeed(0);
  const task = r.taskEntry.create(r.config.task) as AnyTask;
  const model = task.buildModel() as Layer<tf.Tensor, tf.Tensor>;
  tf.tidy(() => void model.apply(tf.zeros([1, 64, 64, 3])));
  return { model, config: r.config };
}

function values(model: Layer<unknown, unknown>): Float32Array[] {
  return model.weights().map((w) => w.variable.dataSync() as Float32Array);
}

test('tf-checkpoint: the mapping is keras_path_to_checkpoint_key.json and the logits are TF’s', () => {
  const truth = JSON.parse(
    readFileSync(sharedData('tf-checkpoint', 'keras_path_to_checkpoint_key.json'), 'utf8'),
  ) as { keras_path: string; checkpoint_key: string }[];
  const model = new SmallResNet();
  const x = readNpy(sharedData('tf-checkpoint', 'input.npy'));
  const input = tf.tensor(x.data as Float32Array, x.shape);
  tf.tidy(() => void model.apply(input));
  const source = tfCheckpointSource(sharedData('tf-checkpoint'));
  try {
    const { report } = loadWeights(model, source);
    const got = new Map(report.matched.map((m) => [m.weight.path, m.key]));
    assert.equal(got.size, truth.length);
    for (const t of truth) assert.equal(got.get(t.keras_path), t.checkpoint_key, t.keras_path);
  } finally {
    source.close();
  }
  assertFixtureLogits(model, input);
  input.dispose();
  model.dispose();
});

for (const name of ['resnet_rs', 'vit'] as const) {
  test(`${name}: every variable maps by rule, with or without the object graph`, () => {
    const { model } = buildCase(name);
    const recorded = JSON.parse(readFileSync(MG(name, 'variables.json'), 'utf8')) as {
      name: string;
      keras_name: string | null;
    }[];
    const source = tfCheckpointSource(MG(name, 'ckpt'));
    try {
      const byGraph = mapWeights(model, source.root.children.get('model')!, source.variables);
      assert.deepEqual(
        [byGraph.missing.length, byGraph.mismatched.length, byGraph.unmatched.length],
        [0, 0, 0],
      );
      assert.equal(byGraph.matched.length, recorded.length - 1); // all but the object graph
      const keyOnly = graphFromKeys(source.variables.keys()).children.get('model')!;
      const byKeys = mapWeights(model, keyOnly, source.variables);
      assert.deepEqual(
        byKeys.matched.map((m) => [m.weight.path, m.key]),
        byGraph.matched.map((m) => [m.weight.path, m.key]),
      );
      // Keras names: ours are unique among siblings, tf_keras's per creation scope; they agree
      // wherever both number layers the same way (all of ViT; ResNet-RS except inside SE).
      const kerasName = new Map(recorded.map((v) => [v.name, v.keras_name]));
      let agree = 0;
      for (const m of byGraph.matched) {
        if (m.weight.path.endsWith(`/${kerasName.get(m.key)}`)) agree++;
        else assert.ok(name === 'resnet_rs' && m.key.includes('_squeeze_excitation'), m.key);
      }
      assert.ok(agree >= byGraph.matched.length * (name === 'vit' ? 1 : 0.8), `${agree} agree`);
    } finally {
      source.close();
      model.dispose();
    }
  });
}

/** resnet_rs's variables re-rooted as Checkpoint(**model.checkpoint_items): `backbone/...`. */
function checkpointItemsLayout(source: CheckpointSource): CheckpointSource {
  const rename = new Map<string, string>();
  for (const k of source.variables.keys()) {
    if (k.startsWith('model/layer_with_weights-0/')) {
      rename.set(k.replace('model/layer_with_weights-0/', 'backbone/'), k);
    }
  }
  return {
    ...source,
    description: 'backbone-rooted',
    root: graphFromKeys(rename.keys()),
    variables: new Map([...rename].map(([to, from]) => [to, source.variables.get(from)!])),
    read: (key) => source.read(rename.get(key)!),
  };
}

test('both checkpoint layouts load; init modules select the backbone', () => {
  const { model: full } = buildCase('resnet_rs');
  const source = tfCheckpointSource(MG('resnet_rs', 'ckpt'));
  try {
    assert.equal(loadWeights(full, source).loaded, 346);
    const items = checkpointItemsLayout(source);
    const { model } = buildCase('resnet_rs');
    const head = model.weights().filter((w) => w.path.includes('/dense/'));
    const headBefore = head.map((w) => w.variable.dataSync().slice());
    // 'all' needs the head, which the backbone-rooted layout lacks: one error, with the table.
    assert.throws(
      () => loadWeights(model, items),
      (e: Error) =>
        /2 missing/.test(e.message) &&
        /missing +classification_model\/dense\/kernel/.test(e.message),
    );
    const { loaded } = loadWeights(model, items, { modules: ['backbone'] });
    assert.equal(loaded, 344);
    const a = model.weights();
    const b = full.weights();
    a.forEach((w, i) => {
      if (w.path.includes('/dense/')) return;
      assert.deepEqual(w.variable.dataSync(), b[i].variable.dataSync(), w.path);
    });
    head.forEach((w, i) => assert.deepEqual(w.variable.dataSync(), headBefore[i], w.path));
    assert.throws(
      () => loadWeights(model, items, { modules: ['decoder'] }),
      /the model has no module 'decoder' \(has: backbone/,
    );
    model.dispose();
  } finally {
    source.close();
    full.dispose();
  }
});

test('a wrong architecture is one error with the table, and assigns nothing', () => {
  const { model } = buildCase('resnet_rs', ['task.model.backbone.resnet.depth_multiplier=0.5']);
  const before = values(model);
  const source = tfCheckpointSource(MG('resnet_rs', 'ckpt'));
  try {
    assert.throws(
      () => loadWeights(model, source),
      (e: Error) =>
        /^cannot load .*ckpt into classification_model:\n\d+ matched, 0 missing, \d+ shape\/dtype mismatched, 0 unmatched/.test(
          e.message,
        ) &&
        /shape\/dtype +classification_model\/res_net\/conv2d\/kernel +model\/layer_with_weights-0\/layer_with_weights-0\/kernel\/\.ATTRIBUTES\/VARIABLE_VALUE +float32\[3,3,3,16\] +float32\[3,3,3,8\]/.test(
          e.message,
        ),
    );
    values(model).forEach((v, i) => assert.deepEqual(v, before[i]));
  } finally {
    source.close();
    model.dispose();
  }
  // Classifier heads of another num_classes are skipped with a note only when asked.
  const { model: m10 } = buildCase('resnet_rs', ['task.model.num_classes=7']);
  const s2 = tfCheckpointSource(MG('resnet_rs', 'ckpt'));
  try {
    assert.throws(() => loadWeights(m10, s2), /shape\/dtype mismatched/);
    const notes: string[] = [];
    const r = loadWeights(m10, s2, {
      classDependent: ['_logits'],
      strict: false,
      log: (m) => notes.push(m),
    });
    assert.equal(r.loaded, 344);
    assert.match(
      notes.join('\n'),
      /classifier head not restored \(num_classes differs: .*\[512,7\] vs \[512,10\]/,
    );
  } finally {
    s2.close();
    m10.dispose();
  }
});

test("the vit case's spec patch is a vision-garden extension that Model Garden YAML refuses", () => {
  const { model, config } = buildCase('vit');
  assert.equal(model.countParams(), 1_060_714); // case.json params_total
  assert.throws(
    () => modelGardenYaml(config),
    /cannot export to Model Garden YAML: task\.model\.backbone\.vit\.spec_from_config is a vision-garden extension/,
  );
  const plain = buildCase('resnet_rs');
  assert.match(modelGardenYaml(plain.config), /depth_multiplier: 0.25/);
  model.dispose();
  plain.model.dispose();
});
