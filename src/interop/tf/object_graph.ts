/**
 * TF2 object-based checkpoint naming (tensorflow/python/checkpoint/{graph_view,save_util}.py):
 * a variable's key is the path of attribute names from the root `tf.train.Checkpoint` to its
 * object — the first path a breadth-first walk over the children finds — with each name escaped
 * ('.' → '.S', '/' → './'), then `.ATTRIBUTES/<attribute>` (`VARIABLE_VALUE` for variables).
 * The `_CHECKPOINTABLE_OBJECT_GRAPH` entry records that walk: node 0 is the root, each node lists
 * its children by local name and the checkpoint keys of its own attributes.
 */
import type { TrackableObject, TrackableObjectGraph } from './bundle_proto.js';

export const VARIABLE_VALUE = 'VARIABLE_VALUE';
const ATTRIBUTES = '.ATTRIBUTES';

/** Escapes one local name as TensorFlow does inside checkpoint keys. */
export function escapeLocalName(name: string): string {
  return name.replace(/\./g, '.S').replace(/\//g, './');
}

/** The checkpoint key of an object path's attribute (`model/_dense/kernel/.ATTRIBUTES/VARIABLE_VALUE`). */
export function checkpointKey(path: readonly string[], attribute = VARIABLE_VALUE): string {
  return [...path.map(escapeLocalName), ATTRIBUTES, escapeLocalName(attribute)].join('/');
}

/** The breadth-first (first-found) path of local names to every node; root is []. */
export function objectNodePaths(graph: TrackableObjectGraph): (string[] | undefined)[] {
  const paths: (string[] | undefined)[] = new Array(graph.nodes.length);
  if (graph.nodes.length === 0) return paths;
  paths[0] = [];
  const queue = [0];
  for (let q = 0; q < queue.length; q++) {
    const id = queue[q];
    for (const child of graph.nodes[id].children ?? []) {
      if (child.nodeId < 0 || child.nodeId >= graph.nodes.length) {
        throw new Error(
          `object graph: node ${id} has child ${child.nodeId} (of ${graph.nodes.length} nodes)`,
        );
      }
      if (paths[child.nodeId] !== undefined) continue;
      paths[child.nodeId] = [...(paths[id] as string[]), child.localName];
      queue.push(child.nodeId);
    }
  }
  return paths;
}

export interface KeyPath {
  /** The node holding the attribute. */
  nodeId: number;
  /** Local names from the root to that node (`['model', '_backbone', ...]`). */
  path: string[];
  /** Attribute name (`VARIABLE_VALUE`). */
  attribute: string;
  /** The saved object's own name (a Keras variable's name, `conv2d/kernel`). */
  fullName: string;
}

/** Maps every checkpoint key named in the graph to its node, object path and attribute. */
export function checkpointKeyPaths(graph: TrackableObjectGraph): Map<string, KeyPath> {
  const paths = objectNodePaths(graph);
  const out = new Map<string, KeyPath>();
  graph.nodes.forEach((node, nodeId) => {
    const path = paths[nodeId];
    for (const a of node.attributes ?? []) {
      if (path === undefined) {
        throw new Error(
          `object graph: node ${nodeId} (${a.checkpointKey}) is unreachable from the root`,
        );
      }
      out.set(a.checkpointKey, { nodeId, path, attribute: a.name, fullName: a.fullName });
    }
  });
  return out;
}

/** One variable to place in an object graph. */
export interface GraphVariable {
  /** Local names from the root (`['model', '_dense', 'kernel']`). */
  path: readonly string[];
  /** The variable's own name (defaults to the path joined with '/'). */
  fullName?: string;
}

/**
 * Builds the object graph of a tree of objects whose leaves are the given variables: each
 * distinct path prefix becomes one node, children in first-seen order, numbered breadth-first
 * as TensorFlow numbers them. Returns the graph and each variable's checkpoint key (same order).
 */
export function buildObjectGraph(variables: readonly GraphVariable[]): {
  graph: TrackableObjectGraph;
  keys: string[];
} {
  interface TreeNode {
    children: Map<string, TreeNode>;
    variable?: number;
  }
  const root: TreeNode = { children: new Map() };
  variables.forEach((v, i) => {
    if (v.path.length === 0) throw new Error(`object graph: variable ${i} has an empty path`);
    let node = root;
    v.path.forEach((name, depth) => {
      if (node.variable !== undefined) {
        throw new Error(
          `object graph: '${v.path.slice(0, depth).join('/')}' is a variable and cannot have child '${name}'`,
        );
      }
      let next = node.children.get(name);
      if (!next) {
        next = { children: new Map() };
        node.children.set(name, next);
      }
      node = next;
    });
    if (node.variable !== undefined || node.children.size > 0) {
      throw new Error(`object graph: path '${v.path.join('/')}' is given twice or has children`);
    }
    node.variable = i;
  });
  const order: TreeNode[] = [root];
  const ids = new Map<TreeNode, number>([[root, 0]]);
  for (let q = 0; q < order.length; q++) {
    for (const child of order[q].children.values()) {
      ids.set(child, order.length);
      order.push(child);
    }
  }
  const keys: string[] = new Array(variables.length);
  const hasValues = new Map<TreeNode, boolean>();
  const subtreeHasValues = (n: TreeNode): boolean => {
    let v = hasValues.get(n);
    if (v === undefined) {
      v = n.variable !== undefined || [...n.children.values()].some(subtreeHasValues);
      hasValues.set(n, v);
    }
    return v;
  };
  const nodes: TrackableObject[] = order.map((n) => {
    const attributes = [];
    if (n.variable !== undefined) {
      const v = variables[n.variable];
      const key = checkpointKey(v.path);
      keys[n.variable] = key;
      attributes.push({
        name: VARIABLE_VALUE,
        fullName: v.fullName ?? v.path.join('/'),
        checkpointKey: key,
      });
    }
    return {
      children: [...n.children].map(([localName, c]) => ({
        nodeId: ids.get(c) as number,
        localName,
      })),
      attributes,
      slotVariables: [],
      hasCheckpointValues: { value: subtreeHasValues(n) },
    };
  });
  return { graph: { nodes }, keys };
}
