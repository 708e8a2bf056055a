/**
 * The order in which a Keras functional model lists its layers, which is the order of its
 * `layer_with_weights-N` checkpoint attributes: by depth (the longest path from the layer to a
 * model output) descending, ties in creation order (tf_keras functional `_map_graph_network`).
 */

/** One layer of a functional graph: its name and the names of the layers it consumes. */
export interface GraphNode {
  name: string;
  inputs: string[];
}

/** Names of `nodes` (given in creation order) in Keras functional-model layer order. */
export function kerasLayerOrder(nodes: readonly GraphNode[]): string[] {
  const consumers = new Map<string, string[]>();
  for (const n of nodes) {
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.name]);
  }
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const d = Math.max(-1, ...(consumers.get(name) ?? []).map(depthOf)) + 1;
    depth.set(name, d);
    return d;
  };
  return nodes
    .map((n, index) => ({ name: n.name, index, depth: depthOf(n.name) }))
    .sort((a, b) => b.depth - a.depth || a.index - b.index)
    .map((n) => n.name);
}
