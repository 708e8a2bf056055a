/**
 * Maps a checkpoint's variables onto our layers by rule: the layer tree is walked alongside the
 * checkpoint's object graph, one attribute at a time.
 *
 * A TF2 checkpoint names each variable by the chain of Python attributes from the
 * `tf.train.Checkpoint` root (`model/_backbone/layer_with_weights-8/_conv1/kernel`), and its
 * object graph (`_CHECKPOINTABLE_OBJECT_GRAPH`) records every edge, so an object reachable under
 * several names (`model/_backbone` and `model/layer_with_weights-0`) resolves under any of them.
 * Our layers hold sub-layers under the same attribute names (src/core/layer.ts), so each weight is
 * found by following its layer's attributes:
 *
 * - an attribute matches the edge of the same name, or with a leading `_` added or removed (Keras 3
 *   stores a Dense kernel as `_kernel`; `Checkpoint(**model.checkpoint_items)` names the
 *   backbone `backbone` where the model holds it as `_backbone`);
 * - a sub-layer whose attribute is not an edge is looked up by Keras' functional-model ordering:
 *   the k-th of its parent's weight-holding sub-layers is `layer_with_weights-k` (how a functional
 *   model such as Model Garden's ClassificationModel tracks its Dense head);
 * - `a/b` attributes (list items, `_encoder_layers/0`) follow one edge per part.
 *
 * Without an object graph (our own `.vgckpt` files, Keras 3 `.weights.h5` files, or a bundle read
 * without one) the graph is built from the variable names themselves ({@link graphFromKeys});
 * {@link Naming} says how each kind names sub-layers and weights.
 *
 * The result lists every weight as matched, missing (no such object), or shape/dtype-mismatched,
 * and every checkpoint variable under the mapped node that no weight took; {@link formatReport}
 * renders it as a table. Nothing here assigns: see ./load.ts.
 */
import type { Layer, Weight } from '../core/layer.js';

/** One object of a checkpoint's object graph. */
export interface ObjectNode {
  readonly children: Map<string, ObjectNode>;
  /** Checkpoint key of the object's value when the object is a variable. */
  variableKey?: string;
}

/** What the mapping needs of a checkpoint variable. */
export interface VariableInfo {
  shape: number[];
  dtype: string;
}

/** The fields of TF's TrackableObjectGraph proto that the mapping reads. */
export interface TrackableObjectGraphLike {
  nodes: {
    children?: { nodeId?: number; localName?: string }[];
    attributes?: { name?: string; checkpointKey?: string }[];
  }[];
}

const VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE';

function newNode(): ObjectNode {
  return { children: new Map() };
}

/** The object graph recorded in a TF2 checkpoint (node 0 is the root). */
export function graphFromTrackable(g: TrackableObjectGraphLike): ObjectNode {
  const nodes = g.nodes.map(() => newNode());
  g.nodes.forEach((n, i) => {
    for (const c of n.children ?? []) {
      const target = nodes[c.nodeId ?? 0];
      if (target && c.localName !== undefined) nodes[i].children.set(c.localName, target);
    }
    const value = (n.attributes ?? []).find((a) => a.name === 'VARIABLE_VALUE');
    if (value?.checkpointKey) nodes[i].variableKey = value.checkpointKey;
  });
  if (!nodes.length) throw new Error('the checkpoint object graph has no nodes');
  return nodes[0];
}

/**
 * A tree built from variable names split at '/': TF2 keys (`a/b/.ATTRIBUTES/VARIABLE_VALUE`) end
 * at the object `a/b`; other names (ours: `model/<Keras path>`) are the object's path themselves.
 * Keys of TF2 bookkeeping (`_CHECKPOINTABLE_OBJECT_GRAPH`, `.OPTIMIZER_SLOT` entries) are left out.
 */
export function graphFromKeys(keys: Iterable<string>): ObjectNode {
  const root = newNode();
  for (const key of keys) {
    if (key === '_CHECKPOINTABLE_OBJECT_GRAPH' || key.includes('/.OPTIMIZER_SLOT/')) continue;
    const path = key.endsWith(VALUE_SUFFIX) ? key.slice(0, -VALUE_SUFFIX.length) : key;
    if (path.includes('/.ATTRIBUTES/')) continue;
    let node = root;
    for (const part of path.split('/')) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = newNode()));
      node = next;
    }
    node.variableKey = key;
  }
  return root;
}

/** The child edge named `name`, or with a leading underscore added or removed. */
export function findEdge(node: ObjectNode, name: string): ObjectNode | undefined {
  return (
    node.children.get(name) ?? node.children.get(name.startsWith('_') ? name.slice(1) : `_${name}`)
  );
}

/** Follows `a/b/c` one edge at a time. */
export function descend(node: ObjectNode, path: string): ObjectNode | undefined {
  let n: ObjectNode | undefined = node;
  for (const part of path.split('/')) {
    if (!n) return undefined;
    n = findEdge(n, part);
  }
  return n;
}

/** Every variable key reachable from `node` (each object once). */
export function variableKeysUnder(node: ObjectNode): string[] {
  const keys: string[] = [];
  const seen = new Set<ObjectNode>();
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.variableKey !== undefined) keys.push(n.variableKey);
    for (const c of n.children.values()) stack.push(c);
  }
  return keys.sort();
}

export interface WeightMatch {
  weight: Weight;
  key: string;
}

export interface Mismatch extends WeightMatch {
  checkpoint: VariableInfo;
}

export interface MappingReport {
  matched: WeightMatch[];
  /** Weights with no checkpoint object at their path. */
  missing: Weight[];
  /** Weights whose checkpoint variable has another shape or dtype. */
  mismatched: Mismatch[];
  /** Checkpoint variables under the mapped node that no weight took. */
  unmatched: string[];
}

/**
 * How a checkpoint names sub-layers and weights:
 * - `attribute`: a sub-layer by its attribute, a weight by its name (TF object graphs);
 * - `name`: a sub-layer by its Keras name, a weight by its name (our `.vgckpt` files);
 * - `keras3`: Keras 3's `.weights.h5` layout (keras/src/saving/saving_lib.py): a layer's own
 *   weights are `vars/<i>`, numbered trainable first then non-trainable, each in creation order
 *   (`Layer.save_own_variables`); a sub-layer is its attribute (`_conv1`) or, for a model, an item
 *   of the `layers` container. Container items (a model's `layers`, a list attribute's items) are
 *   named by their class in snake_case, numbered per class in the container's order (`conv2d`,
 *   `conv2d_1`, ...), never by their Keras name.
 */
export type Naming = 'attribute' | 'name' | 'keras3';

export interface MapOptions {
  /** How the checkpoint names sub-layers and weights (default `attribute`). */
  by?: Naming;
}

/** Keras 3's `naming.to_snake_case`, used for container item names. */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Item names of a Keras 3 container: class name in snake_case, `_k` from the second of a class. */
function containerNames(
  items: readonly Layer<unknown, unknown>[],
): Map<Layer<unknown, unknown>, string> {
  const used = new Map<string, number>();
  const names = new Map<Layer<unknown, unknown>, string>();
  for (const item of items) {
    const base = kerasSnakeCase(item.constructor.name);
    const k = used.get(base);
    used.set(base, k === undefined ? 0 : k + 1);
    names.set(item, k === undefined ? base : `${base}_${k + 1}`);
  }
  return names;
}

/**
 * The object of sub-layer `c` of `l` under `n` in Keras 3's layout: its attribute; for a list
 * attribute (`_blocks/2`) the list's container item; else the model's `layers` container item.
 */
function keras3Child(
  l: Layer<unknown, unknown>,
  n: ObjectNode,
  c: Layer<unknown, unknown>,
): ObjectNode | undefined {
  const siblings = l.layers();
  const slash = c.attr.lastIndexOf('/');
  if (slash < 0) {
    const byAttr = findEdge(n, c.attr);
    if (byAttr) return byAttr;
  } else {
    const list = c.attr.slice(0, slash);
    const items = siblings.filter((s) => s.attr.slice(0, s.attr.lastIndexOf('/')) === list);
    const byList = descend(n, `${list}/${containerNames(items).get(c)}`);
    if (byList) return byList;
  }
  const layers = n.children.get('layers');
  return layers?.children.get(containerNames(siblings).get(c)!);
}

function ownWeights(layer: Layer<unknown, unknown>): Weight[] {
  return layer.weights().filter((w) => w.layer === layer);
}

function weightName(w: Weight): string {
  return w.path.slice(w.path.lastIndexOf('/') + 1);
}

/**
 * Maps the weights of `layer` onto the object `node` of a checkpoint (see the module comment).
 * `variables` gives each checkpoint key's shape and dtype.
 */
export function mapWeights(
  layer: Layer<unknown, unknown>,
  node: ObjectNode,
  variables: ReadonlyMap<string, VariableInfo>,
  opts: MapOptions = {},
): MappingReport {
  const by = opts.by ?? 'attribute';
  const report: MappingReport = { matched: [], missing: [], mismatched: [], unmatched: [] };
  const walk = (l: Layer<unknown, unknown>, n: ObjectNode) => {
    const own = ownWeights(l);
    const ordered =
      by === 'keras3'
        ? [...own.filter((w) => w.trainable), ...own.filter((w) => !w.trainable)]
        : own;
    for (const [i, w] of ordered.entries()) {
      const key = (by === 'keras3' ? descend(n, `vars/${i}`) : findEdge(n, weightName(w)))
        ?.variableKey;
      const info = key === undefined ? undefined : variables.get(key);
      if (key === undefined || !info) report.missing.push(w);
      else if (
        info.dtype !== w.variable.dtype ||
        info.shape.length !== w.variable.shape.length ||
        info.shape.some((d, i) => d !== w.variable.shape[i])
      ) {
        report.mismatched.push({ weight: w, key, checkpoint: info });
      } else report.matched.push({ weight: w, key });
    }
    const weighted = l.layers().filter((c) => c.weights().length > 0);
    weighted.forEach((c, k) => {
      let child =
        by === 'keras3' ? keras3Child(l, n, c) : descend(n, by === 'name' ? c.name : c.attr);
      if (!child && by === 'attribute' && !c.attr.includes('/')) {
        child = n.children.get(`layer_with_weights-${k}`);
      }
      if (child) walk(c, child);
      else report.missing.push(...c.weights());
    });
  };
  walk(layer, node);
  const taken = new Set([...report.matched, ...report.mismatched].map((m) => m.key));
  report.unmatched = variableKeysUnder(node).filter((k) => !taken.has(k));
  return report;
}

/** True when every weight matched and every checkpoint variable was taken. */
export function isComplete(r: MappingReport): boolean {
  return !r.missing.length && !r.mismatched.length && !r.unmatched.length;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * The problems of a mapping as a table (status, our Keras path, checkpoint key, shapes), at most
 * `maxRows` rows plus a count of the rest.
 */
export function formatReport(r: MappingReport, maxRows = 40): string {
  const rows: string[][] = [];
  for (const m of r.mismatched) {
    rows.push([
      'shape/dtype',
      m.weight.path,
      m.key,
      `${m.weight.variable.dtype}${shapeText(m.weight.variable.shape)}`,
      `${m.checkpoint.dtype}${shapeText(m.checkpoint.shape)}`,
    ]);
  }
  for (const w of r.missing) {
    rows.push([
      'missing',
      w.path,
      `(none at ${w.objectPath})`,
      `${w.variable.dtype}${shapeText(w.variable.shape)}`,
      '',
    ]);
  }
  for (const k of r.unmatched) rows.push(['unmatched', '', k, '', '']);
  const header = ['status', 'our variable', 'checkpoint key', 'ours', 'checkpoint'];
  const shown = rows.slice(0, maxRows);
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((row) => row[i].length)));
  const fmt = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const lines = [fmt(header), ...shown.map(fmt)];
  if (rows.length > maxRows) lines.push(`... and ${rows.length - maxRows} more`);
  return [
    `${r.matched.length} matched, ${r.missing.length} missing, ${r.mismatched.length} shape/dtype mismatched, ${r.unmatched.length} unmatched checkpoint variable(s)`,
    ...lines,
  ].join('\n');
}
