/**
 * The order in which a Keras functional model lists its layers (`model.layers`), which decides the
 * `layer_with_weights-N` names of its TF2 checkpoint (tf-keras `functional.py`,
 * `_map_graph_network` / `_build_map`).
 *
 * Keras walks the graph depth-first from the outputs (flattened in order), numbering each layer when
 * first reached; a layer's depth is the longest path from it to an output; layers are listed by
 * decreasing depth, ties by that numbering. Layers that no output depends on are not part of the
 * model at all (their weights are not tracked).
 *
 * A model whose graph is not a chain (SpineNet's cross-scale connections) must reproduce this rule,
 * including the weight-less op layers (activations, adds, reshapes) that Keras wraps as
 * `TFOpLambda` layers, since they lengthen paths.
 */

/** One layer call of the graph: the nodes whose outputs it consumes, in call-argument order. */
export interface FunctionalNode {
  readonly inputs: readonly number[];
}

/**
 * Node ids (indices into `nodes`) in Keras `model.layers` order; only nodes the outputs depend on.
 * Each node is one layer called once (no shared layers).
 */
export function kerasLayerOrder(
  nodes: readonly FunctionalNode[],
  outputs: readonly number[],
): number[] {
  const traversalIndex = new Map<number, number>();
  const finished = new Set<number>();
  const inProgress = new Set<number>();
  const postOrder: number[] = [];
  const visit = (id: number): void => {
    if (finished.has(id)) return;
    if (inProgress.has(id)) throw new Error(`kerasLayerOrder: the graph has a cycle at node ${id}`);
    const node = nodes[id];
    if (!node) throw new Error(`kerasLayerOrder: unknown node ${id}`);
    if (!traversalIndex.has(id)) traversalIndex.set(id, traversalIndex.size);
    inProgress.add(id);
    for (const input of node.inputs) visit(input);
    finished.add(id);
    inProgress.delete(id);
    postOrder.push(id);
  };
  for (const out of outputs) visit(out);

  // Reverse post-order visits every consumer before its inputs, so a depth is final when read.
  const depth = new Map<number, number>();
  for (let k = postOrder.length - 1; k >= 0; k--) {
    const id = postOrder[k];
    const d = depth.get(id) ?? 0;
    depth.set(id, d);
    for (const input of nodes[id].inputs) {
      depth.set(input, Math.max(d + 1, depth.get(input) ?? 0));
    }
  }
  return [...postOrder].sort(
    (a, b) =>
      (depth.get(b) ?? 0) - (depth.get(a) ?? 0) ||
      (traversalIndex.get(a) ?? 0) - (traversalIndex.get(b) ?? 0),
  );
}
