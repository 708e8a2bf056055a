/**
 * A recorded Keras functional graph for backbones whose layers are not a chain (SpineNet, Mobile
 * SpineNet). The builder records every layer call Model Garden's Keras code makes — weighted
 * layers and the weight-less op layers Keras inserts (activations, adds, reshapes) — so that
 * {@link kerasLayerOrder} gives the checkpoint's `layer_with_weights-N` numbering; then the graph
 * runs in that order, skipping the structural nodes and everything no output needs (as Keras
 * drops it from the model).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs, Layer } from '../../core/layer.js';
import { kerasLayerOrder } from '../keras_functional_order.js';

/** Output of a node: its id in the graph. */
export type NodeId = number;

interface GraphNode {
  /** Keras inbound tensors (ordering only). */
  inputs: NodeId[];
  /** The weighted layer this node calls, if any. */
  layer: Layer<tf.Tensor, tf.Tensor> | null;
  /** Computation: the nodes whose values it reads and the function; null for structural nodes. */
  compute: { from: NodeId[]; fn: (xs: tf.Tensor[], args: CallArgs) => tf.Tensor } | null;
}

/** Keras default layer names (`conv2d`, `conv2d_1`, ...) in creation order, per base name. */
export class KerasNames {
  private readonly counts = new Map<string, number>();

  next(base: string): string {
    const n = this.counts.get(base) ?? 0;
    this.counts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }
}

export class FunctionalGraph {
  private readonly nodes: GraphNode[] = [];
  private order: NodeId[] | null = null;
  private outputs: Record<string, NodeId> = {};
  private inputId: NodeId | null = null;

  /** The model input (one per graph). */
  input(): NodeId {
    if (this.inputId !== null) throw new Error('FunctionalGraph: the graph already has an input');
    this.inputId = this.push({ inputs: [], layer: null, compute: null });
    return this.inputId;
  }

  /** Calls a weighted layer on one tensor. */
  layer(layer: Layer<tf.Tensor, tf.Tensor>, x: NodeId): NodeId {
    return this.push({
      inputs: [x],
      layer,
      compute: { from: [x], fn: ([t], args) => layer.apply(t, args) },
    });
  }

  /** A weight-less op layer (Keras TFOpLambda or a weight-less Keras layer) on its inputs. */
  op(inputs: NodeId[], fn: (xs: tf.Tensor[]) => tf.Tensor): NodeId {
    return this.push({ inputs: [...inputs], layer: null, compute: { from: [...inputs], fn } });
  }

  /**
   * Model Garden's `spatial_transform_ops.nearest_upsampling` without the Keras layer: Keras records
   * its ops tf.shape, two slices, reshape, tile, two multiplies and a reshape, which all count for
   * depth; the computation is one nearest-neighbour upsampling by `scale`.
   */
  nearestUpsamplingOps(x: NodeId, scale: number): NodeId {
    const structural = (inputs: NodeId[]) => this.push({ inputs, layer: null, compute: null });
    const shape = structural([x]);
    const h = structural([shape]);
    const w = structural([shape]);
    const reshaped = structural([x, h, w]);
    const tiled = structural([reshaped]);
    const hScaled = structural([h]);
    const wScaled = structural([w]);
    return this.push({
      inputs: [tiled, hScaled, wScaled],
      layer: null,
      compute: { from: [x], fn: ([t]) => nearestUpsampling(t, scale) },
    });
  }

  private push(node: GraphNode): NodeId {
    if (this.order) throw new Error('FunctionalGraph: the graph is already finished');
    this.nodes.push(node);
    return this.nodes.length - 1;
  }

  /**
   * Ends recording with the model outputs (Keras flattens an output dict by sorted key) and returns
   * the weighted layers the outputs need, in Keras `model.layers` order.
   */
  finish(outputs: Record<string, NodeId>): Layer<tf.Tensor, tf.Tensor>[] {
    this.outputs = outputs;
    const keys = Object.keys(outputs).sort();
    this.order = kerasLayerOrder(
      this.nodes,
      keys.map((k) => outputs[k]),
    );
    return this.order.flatMap((id) => {
      const layer = this.nodes[id].layer;
      return layer ? [layer] : [];
    });
  }

  /** Runs the graph on the input; returns the named outputs (intermediates are disposed). */
  run(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    const order = this.order;
    if (!order) throw new Error('FunctionalGraph: run before finish');
    return tf.tidy(() => {
      const values = new Map<NodeId, tf.Tensor>();
      if (this.inputId !== null) values.set(this.inputId, x);
      for (const id of order) {
        const { compute } = this.nodes[id];
        if (!compute) continue;
        const inputs = compute.from.map((i) => {
          const v = values.get(i);
          if (!v) throw new Error(`FunctionalGraph: node ${id} reads node ${i} before it ran`);
          return v;
        });
        values.set(id, compute.fn(inputs, args));
      }
      const out: Record<string, tf.Tensor> = {};
      for (const [key, id] of Object.entries(this.outputs)) out[key] = values.get(id) as tf.Tensor;
      return out;
    });
  }
}

/** Nearest-neighbour upsampling of [b, h, w, c] by an integer factor (reshape + tile, as MG). */
export function nearestUpsampling(x: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const tiled = tf.tile(tf.reshape(x, [b, h, 1, w, 1, c]), [1, 1, scale, 1, scale, 1]);
    return tf.reshape(tiled, [b, h * scale, w * scale, c]);
  });
}
