/**
 * Writes a model's weights as a TF2 object-based checkpoint laid out as Model Garden's trainer
 * writes it (`tf.train.Checkpoint(model=model)`), so that TensorFlow restores it into Model
 * Garden's model and ./weight_map.ts maps it back onto ours.
 *
 * The object graph follows our layer tree (attribute names are Model Garden's). A layer that
 * stands for a Keras *functional* model (`kerasFunctional`, e.g. Model Garden's
 * ClassificationModel) also tracks its weight-holding sub-layers as `layer_with_weights-k`, listed
 * first as Keras lists them; TF names each variable by the first path a breadth-first walk finds,
 * so keys come out as Model Garden's (`model/layer_with_weights-1/kernel/...`), and the attribute
 * edges (`_backbone`) stay as aliases of the same objects, as in Model Garden's graph.
 */
import type { Layer, Weight } from '../core/layer.js';
import type { TrackableObject, TrackableObjectGraph } from './tf/bundle_proto.js';
import { encodeObjectGraph } from './tf/bundle_proto.js';
import { OBJECT_GRAPH_KEY } from './tf/bundle_reader.js';
import { writeCheckpointState, writeTensorBundle, type KeyedTensor } from './tf/bundle_writer.js';
import { checkpointKey, objectNodePaths, VARIABLE_VALUE } from './tf/object_graph.js';

/** Marks a layer that Model Garden builds as a Keras functional model. */
export interface KerasFunctional {
  readonly kerasFunctional?: boolean;
}

interface Node {
  edges: [string, Node][];
  weight?: Weight;
}

function child(node: Node, name: string): Node {
  const found = node.edges.find(([n]) => n === name);
  if (found) return found[1];
  const made: Node = { edges: [] };
  node.edges.push([name, made]);
  return made;
}

function layerNode(layer: Layer<unknown, unknown>, node: Node): void {
  for (const w of layer.weights().filter((x) => x.layer === layer)) {
    child(node, w.path.slice(w.path.lastIndexOf('/') + 1)).weight = w;
  }
  const weighted = layer.layers().filter((c) => c.weights().length > 0);
  const functional = (layer as KerasFunctional).kerasFunctional === true;
  const nodes = weighted.map(() => ({ edges: [] }) as Node);
  if (functional) nodes.forEach((n, k) => node.edges.push([`layer_with_weights-${k}`, n]));
  weighted.forEach((c, k) => {
    const parts = c.attr.split('/');
    let at = node;
    for (const p of parts.slice(0, -1)) at = child(at, p);
    const last = parts[parts.length - 1];
    if (!at.edges.some(([n]) => n === last)) at.edges.push([last, nodes[k]]);
    layerNode(c, nodes[k]);
  });
}

export interface ExportedCheckpoint {
  prefix: string;
  /** Checkpoint key of each weight, in `model.weights()` order. */
  keys: string[];
}

/** Writes `model`'s weights to `prefix` (+ the `checkpoint` state file beside it). */
export function writeModelTfCheckpoint(
  model: Layer<unknown, unknown>,
  prefix: string,
): ExportedCheckpoint {
  const root: Node = { edges: [] };
  layerNode(model, child(root, 'model'));
  // Number the nodes breadth-first, as TensorFlow does.
  const order: Node[] = [root];
  const ids = new Map<Node, number>([[root, 0]]);
  for (let q = 0; q < order.length; q++) {
    for (const [, c] of order[q].edges) {
      if (!ids.has(c)) {
        ids.set(c, order.length);
        order.push(c);
      }
    }
  }
  const nodes: TrackableObject[] = order.map((n) => ({
    children: n.edges.map(([localName, c]) => ({ nodeId: ids.get(c)!, localName })),
    attributes: [],
    slotVariables: [],
  }));
  const graph: TrackableObjectGraph = { nodes };
  const paths = objectNodePaths(graph);
  const keyOf = new Map<Weight, string>();
  order.forEach((n, i) => {
    if (!n.weight) return;
    const key = checkpointKey(paths[i]!);
    keyOf.set(n.weight, key);
    const fullName = n.weight.path.slice(n.weight.path.indexOf('/') + 1);
    nodes[i].attributes.push({ name: VARIABLE_VALUE, fullName, checkpointKey: key });
  });
  const weights = model.weights();
  const tensors: KeyedTensor[] = weights.map((w) => {
    const v = w.variable;
    if (v.dtype !== 'float32' && v.dtype !== 'int32') {
      throw new Error(`${w.path}: dtype ${v.dtype} cannot be written to a TF checkpoint here`);
    }
    return {
      key: keyOf.get(w)!,
      dtype: v.dtype,
      shape: v.shape,
      values: v.dataSync() as Float32Array | Int32Array,
    };
  });
  tensors.push({
    key: OBJECT_GRAPH_KEY,
    dtype: 'string',
    shape: [],
    values: [encodeObjectGraph(graph)],
  });
  writeTensorBundle(prefix, tensors);
  writeCheckpointState(prefix);
  return { prefix, keys: weights.map((w) => keyOf.get(w)!) };
}
