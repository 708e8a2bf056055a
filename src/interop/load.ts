/**
 * Loads a checkpoint's weights into a built model through the mapping by rule (./weight_map.ts):
 * the whole model or some of its modules (Model Garden's `init_checkpoint_modules`: `all`,
 * `backbone`, `decoder`, or a list), from either checkpoint layout Model Garden writes — the
 * trainer's `tf.train.Checkpoint(model=model)` (everything under `model/`) or
 * `tf.train.Checkpoint(**model.checkpoint_items)` (`backbone/`, `decoder/`, `head/` at the root).
 *
 * Every problem is checked before anything is assigned; a failed load changes no weight and
 * throws one error holding the mapping's table.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Layer, Weight } from '../core/layer.js';
import type { CheckpointSource } from './checkpoint_source.js';
import {
  descend,
  formatReport,
  mapWeights,
  type MappingReport,
  type ObjectNode,
} from './weight_map.js';

export interface LoadOptions {
  /** `['all']` (default) or names of the model's modules (`backbone`, `decoder`, `head`). */
  modules?: readonly string[];
  /**
   * true (default): every checkpoint variable under the model must be used (as TF's
   * assert_consumed). false: variables no weight asks for are left, with a note (as Model
   * Garden's `expect_partial().assert_existing_objects_matched()` in Task.initialize).
   */
  strict?: boolean;
  /**
   * Attributes of the model's sub-layers whose shapes follow num_classes (the classifier's
   * `_logits`): with modules `all`, when their shapes differ from the checkpoint's they are left
   * at their initial values, with a note, instead of failing the load (fine-tuning to new classes).
   */
  classDependent?: readonly string[];
  /** Where notes go (the trainer's message channel). */
  log?: (message: string) => void;
}

export interface LoadResult {
  /** Number of weights assigned. */
  loaded: number;
  report: MappingReport;
}

/** The node the model's own attributes hang from, and whether it is the checkpoint-items root. */
function modelNode(model: Layer<unknown, unknown>, source: CheckpointSource): ObjectNode {
  if (source.by === 'name') {
    const n = descend(source.root, `model/${model.name}`);
    if (!n) {
      const tops = [...(source.root.children.get('model')?.children.keys() ?? [])];
      throw new Error(
        `${source.description}: holds no weights of a model named '${model.name}' (has: ${tops.join(', ') || 'none'})`,
      );
    }
    return n;
  }
  // A Keras 3 `.weights.h5` file is rooted at the model itself.
  if (source.by === 'keras3') return source.root;
  // The trainer's layout roots everything at `model`; checkpoint_items put the modules at the root.
  return source.root.children.get('model') ?? source.root;
}

/** The model's sub-layer for a module name (`backbone` ↔ attribute `_backbone`). */
function moduleLayer(model: Layer<unknown, unknown>, name: string): Layer<unknown, unknown> {
  const found = model
    .layers()
    .find((c) => c.attr === name || c.attr === `_${name}` || c.name === name);
  if (!found) {
    const have = model.layers().map((c) => c.attr.replace(/^_/, ''));
    throw new Error(
      `init_checkpoint_modules: the model has no module '${name}' (has: ${have.join(', ')}; or use 'all')`,
    );
  }
  return found;
}

function isUnder(w: Weight, layer: Layer<unknown, unknown>): boolean {
  for (let l: Layer<unknown, unknown> | null = w.layer; l; l = l.parent)
    if (l === layer) return true;
  return false;
}

/**
 * Maps `source` onto `model` (already built) and assigns the weights (see {@link LoadOptions}).
 * Throws with the mapping table when a selected weight is missing or has another shape, or
 * (strict) when a checkpoint variable is left over.
 */
export function loadWeights(
  model: Layer<unknown, unknown>,
  source: CheckpointSource,
  opts: LoadOptions = {},
): LoadResult {
  const modules = opts.modules?.length ? opts.modules : ['all'];
  const all = modules.includes('all');
  if (all && modules.length > 1) {
    throw new Error(`init_checkpoint_modules: 'all' cannot be combined with other modules`);
  }
  const strict = opts.strict ?? true;
  const root = modelNode(model, source);
  const full = mapWeights(model, root, source.variables, { by: source.by });
  const selected = all ? null : modules.map((m) => moduleLayer(model, m));
  const keep = (w: Weight) => !selected || selected.some((l) => isUnder(w, l));
  const report: MappingReport = {
    matched: full.matched.filter((m) => keep(m.weight)),
    missing: full.missing.filter(keep),
    mismatched: full.mismatched.filter((m) => keep(m.weight)),
    unmatched: all ? full.unmatched : [],
  };
  if (all && opts.classDependent?.length) {
    const heads = opts.classDependent
      .map((a) => model.layers().find((c) => c.attr === a))
      .filter((l): l is Layer<unknown, unknown> => l !== undefined);
    const skipped = report.mismatched.filter((m) => heads.some((h) => isUnder(m.weight, h)));
    if (skipped.length) {
      report.mismatched = report.mismatched.filter((m) => !skipped.includes(m));
      // The head's other weights (a bias of the right size by chance) stay initial too.
      const headWeights = new Set(heads.flatMap((h) => h.weights()));
      report.matched = report.matched.filter((m) => !headWeights.has(m.weight));
      const what = skipped
        .map((m) => `${m.weight.path} [${m.weight.variable.shape}] vs [${m.checkpoint.shape}]`)
        .join(', ');
      opts.log?.(
        `${source.description}: classifier head not restored (num_classes differs: ${what}); it keeps its initial values`,
      );
      report.unmatched = report.unmatched.filter((k) => !skipped.some((m) => m.key === k));
    }
  }
  const problems =
    report.missing.length + report.mismatched.length + (strict ? report.unmatched.length : 0);
  if (problems) {
    throw new Error(
      `cannot load ${source.description} into ${model.name}${all ? '' : ` (modules ${modules.join(', ')})`}:\n${formatReport(strict ? report : { ...report, unmatched: [] })}`,
    );
  }
  if (!strict && report.unmatched.length) {
    opts.log?.(
      `${source.description}: ${report.unmatched.length} checkpoint variable(s) not used by the selected modules`,
    );
  }
  // Read everything first so that a read error leaves the model unchanged.
  const values = report.matched.map((m) => source.read(m.key));
  tf.tidy(() => {
    report.matched.forEach((m, i) => {
      const v = m.weight.variable;
      v.assign(tf.tensor(values[i], v.shape, v.dtype));
    });
  });
  return { loaded: report.matched.length, report };
}
