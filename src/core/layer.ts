/**
 * A small Keras-style layer system on tfjs-core.
 *
 * - A {@link Layer} owns named weights and named sub-layers. Sub-layers are registered under an
 *   *attribute* name (the Python attribute Model Garden stores them in, e.g. `_stem_conv`) and get
 *   a Keras *name* unique among their siblings (`conv2d`, `conv2d_1`, ...), so each weight has two
 *   stable paths:
 *     - `path`       Keras variable path: `resnet/block_group_l2/conv2d_1/kernel`
 *     - `objectPath` object-graph path:   `_backbone/_block_group_l2/_conv2/kernel`
 *   A TF2 checkpoint of the equivalent Model Garden model maps onto ours by rule on either path.
 * - Weights are created on the first call (`build`), from the input's shape, and initialised from
 *   a random stream derived from the global seed and the weight's path, so initial values do not
 *   depend on build order or on the backend.
 * - `apply(x, {training})` is the public entry; subclasses implement `build` and `call`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getGlobalSeed, Rng } from './random.js';

/** A new value for a non-trainable weight (batch-norm moving statistics), produced by a call. */
export interface StateUpdate {
  variable: tf.Variable;
  value: tf.Tensor;
}

export interface CallArgs {
  /** Training mode: dropout active, batch-norm uses batch statistics and updates moving ones. */
  training?: boolean;
  /**
   * Where layers put new values of non-trainable state (moving mean/variance) in training mode.
   * When given, layers push `{variable, value}` here and do NOT assign; the caller (the step) keeps
   * the values out of `tf.tidy` and assigns them, or a compiled step returns them as graph outputs.
   * When absent, layers assign directly (plain eager use).
   */
  stateUpdates?: StateUpdate[];
  /**
   * Random stream for dropout masks and stochastic depth in training mode. The trainer passes its
   * checkpointed stream; without one a layer uses a stream derived from the global seed and its path.
   */
  rng?: Rng;
}

/** Applies a state update: pushes it to `args.stateUpdates` when collecting, else assigns. */
export function updateState(args: CallArgs, variable: tf.Variable, value: tf.Tensor): void {
  if (args.stateUpdates) {
    args.stateUpdates.push({ variable, value: tf.keep(value) });
  } else {
    variable.assign(value);
  }
}

/** Draws an initial value for a weight of the given shape from `rng`. */
export interface Initializer {
  (shape: number[], rng: Rng, dtype?: tf.DataType): tf.Tensor;
  /** Keras-style description used by `summary()` and config round trips. */
  readonly description?: string;
}

export interface WeightOptions {
  initializer: Initializer;
  /** Trainable weights get gradients; non-trainable ones (moving statistics) are updated by assign. */
  trainable?: boolean;
  dtype?: tf.DataType;
  /**
   * Whether Model Garden's l2_weight_decay applies to this weight (kernels: yes; biases, norms,
   * embeddings: no). Defaults to false.
   */
  regularize?: boolean;
}

/** One variable of a layer, with its stable paths. */
export interface Weight {
  /** Keras variable path, e.g. `classifier/conv2d/kernel`. */
  readonly path: string;
  /** Object-graph path, e.g. `_backbone/_stem_conv/kernel`. */
  readonly objectPath: string;
  readonly variable: tf.Variable;
  readonly trainable: boolean;
  readonly regularize: boolean;
  readonly layer: Layer<unknown, unknown>;
}

let variableCounter = 0;

/** Depth of {@link withShapeOnlyBuild} calls in progress. */
let shapeOnlyDepth = 0;

/**
 * Runs `fn` with weights created as zeros instead of drawn from their initializers: the same
 * build path, shapes and paths, none of the random draws. For counting parameters and FLOPs of
 * large models (ViT-L, ResNet-RS-350) quickly; the weights are not a trainable initialisation.
 */
export function withShapeOnlyBuild<T>(fn: () => T): T {
  shapeOnlyDepth++;
  try {
    return fn();
  } finally {
    shapeOnlyDepth--;
  }
}

function snakeCase(name: string): string {
  return name
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

export interface LayerOptions {
  /** Keras name; default: snake_case of the class name, made unique among siblings. */
  name?: string;
  trainable?: boolean;
}

/** The layers whose `apply` is running, outermost first. */
const callStack: Layer<unknown, unknown>[] = [];

/**
 * Keras path of the innermost layer whose `apply` is running, or null outside every layer (the
 * engine records it with each kernel call, to name the layer of a kernel it cannot compile).
 */
export function activeLayerPath(): string | null {
  const top = callStack[callStack.length - 1];
  return top ? top.fullPath() : null;
}

export abstract class Layer<I = tf.Tensor, O = tf.Tensor> {
  /** Keras name (unique among siblings once attached to a parent). */
  name: string;
  /** Attribute name under which the parent holds this layer. */
  attr: string;
  parent: Layer<unknown, unknown> | null = null;
  built = false;
  private _trainable: boolean;
  private readonly children = new Map<string, Layer<unknown, unknown>>();
  private readonly ownWeights = new Map<string, Weight>();
  private readonly explicitName: boolean;

  constructor(opts: LayerOptions = {}) {
    this.explicitName = opts.name !== undefined;
    this.name = opts.name ?? snakeCase(this.constructor.name);
    this.attr = this.name;
    this._trainable = opts.trainable ?? true;
  }

  /** A frozen layer contributes no trainable weights (Keras `trainable=False`). */
  get trainable(): boolean {
    return this._trainable && (this.parent ? this.parent.trainable : true);
  }

  set trainable(v: boolean) {
    this._trainable = v;
  }

  /** Creates weights from the first input; called once by {@link apply}. */
  protected build(_input: I): void {}

  /** The layer's computation. */
  protected abstract call(input: I, args: CallArgs): O;

  /** Builds on first use, then calls. */
  apply(input: I, args: CallArgs = {}): O {
    callStack.push(this as Layer<unknown, unknown>);
    try {
      if (!this.built) {
        this.build(input);
        this.built = true;
      }
      return this.call(input, args);
    } finally {
      callStack.pop();
    }
  }

  /**
   * Registers a sub-layer under an attribute name and returns it. Sub-layers are kept in
   * registration order, which is the order of `weights()` and `summary()`.
   */
  protected add<L extends Layer<unknown, unknown>>(attr: string, layer: L): L {
    if (this.children.has(attr)) {
      throw new Error(`${this.fullPath()}: sub-layer attribute '${attr}' is already registered`);
    }
    if (layer.parent) {
      throw new Error(
        `layer '${layer.fullPath()}' already belongs to '${layer.parent.fullPath()}'`,
      );
    }
    if (layer.built && layer.ownWeights.size + layer.children.size > 0) {
      throw new Error(`layer '${layer.name}' must be attached to its parent before it is built`);
    }
    layer.parent = this;
    layer.attr = attr;
    if (!layer.explicitName) layer.name = this.uniqueChildName(layer.name);
    else if ([...this.children.values()].some((c) => c.name === layer.name)) {
      throw new Error(`${this.fullPath()}: two sub-layers are named '${layer.name}'`);
    }
    this.children.set(attr, layer);
    return layer;
  }

  private uniqueChildName(base: string): string {
    const taken = new Set([...this.children.values()].map((c) => c.name));
    if (!taken.has(base)) return base;
    for (let i = 1; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
  }

  /** Creates a weight. Its initial value comes from a stream keyed by its path. */
  protected addWeight(name: string, shape: number[], opts: WeightOptions): tf.Variable {
    if (this.ownWeights.has(name)) {
      throw new Error(`${this.fullPath()}: weight '${name}' is already defined`);
    }
    const path = `${this.fullPath()}/${name}`;
    const objectPath = this.objectPathPrefix() + name;
    const rng = Rng.derive(getGlobalSeed(), path);
    const dtype = opts.dtype ?? 'float32';
    const variable = tf.tidy(() => {
      const init =
        shapeOnlyDepth > 0 ? tf.zeros(shape, dtype) : opts.initializer(shape, rng, dtype);
      if (!tf.util.arraysEqual(init.shape, shape)) {
        throw new Error(`${path}: initializer returned shape [${init.shape}], wanted [${shape}]`);
      }
      // tfjs requires globally unique variable names; our own paths live on the Weight.
      return tf.variable(
        init.dtype === dtype ? init : tf.cast(init, dtype),
        opts.trainable ?? true,
        `${path}#${variableCounter++}`,
      );
    });
    this.ownWeights.set(name, {
      path,
      objectPath,
      variable,
      trainable: opts.trainable ?? true,
      regularize: opts.regularize ?? false,
      layer: this as Layer<unknown, unknown>,
    });
    return variable;
  }

  /** Keras path of this layer: ancestors' names joined by '/'. */
  fullPath(): string {
    return this.parent ? `${this.parent.fullPath()}/${this.name}` : this.name;
  }

  private objectPathPrefix(): string {
    const parts: string[] = [];
    for (
      let l: Layer<unknown, unknown> | null = this as Layer<unknown, unknown>;
      l?.parent;
      l = l.parent
    ) {
      parts.unshift(l.attr);
    }
    return parts.length ? parts.join('/') + '/' : '';
  }

  /** Direct sub-layers in registration order. */
  layers(): Layer<unknown, unknown>[] {
    return [...this.children.values()];
  }

  /** The sub-layer held under `attr`. */
  child(attr: string): Layer<unknown, unknown> {
    const c = this.children.get(attr);
    if (!c) {
      throw new Error(
        `${this.fullPath()} has no sub-layer '${attr}' (has: ${[...this.children.keys()].join(', ')})`,
      );
    }
    return c;
  }

  /** All weights of this layer and its sub-layers, own weights first, depth-first. */
  weights(): Weight[] {
    const out: Weight[] = [...this.ownWeights.values()];
    for (const c of this.children.values()) out.push(...c.weights());
    return out;
  }

  /** Weights that receive gradients: trainable weights of trainable layers. */
  trainableWeights(): Weight[] {
    return this.weights().filter((w) => w.trainable && w.layer.trainable);
  }

  nonTrainableWeights(): Weight[] {
    return this.weights().filter((w) => !(w.trainable && w.layer.trainable));
  }

  /** Number of scalars in all weights (trainable and not, as Keras `count_params`). */
  countParams(): number {
    return this.weights().reduce((n, w) => n + w.variable.size, 0);
  }

  countTrainableParams(): number {
    return this.trainableWeights().reduce((n, w) => n + w.variable.size, 0);
  }

  /** A Keras-like table: one row per layer with its own parameter count. */
  summary(maxDepth = Infinity): string {
    const rows: [string, string, string][] = [];
    const walk = (l: Layer<unknown, unknown>, depth: number) => {
      const own = [...l.ownWeights.values()];
      const shapes = own
        .map((w) => `${w.path.split('/').pop()}[${w.variable.shape.join(',')}]`)
        .join(' ');
      rows.push([
        `${'  '.repeat(depth)}${l.name} (${l.constructor.name})`,
        shapes,
        String(l.countParams()),
      ]);
      if (depth < maxDepth) for (const c of l.children.values()) walk(c, depth + 1);
    };
    walk(this as Layer<unknown, unknown>, 0);
    const header: [string, string, string] = ['Layer (type)', 'Weights', 'Param #'];
    const widths = [0, 1, 2].map((i) =>
      Math.max(header[i].length, ...rows.map((r) => r[i].length)),
    );
    const fmt = (r: [string, string, string]) =>
      `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padStart(widths[2])}`;
    const sep = '-'.repeat(widths[0] + widths[1] + widths[2] + 4);
    return [
      fmt(header),
      sep,
      ...rows.map(fmt),
      sep,
      `Total params: ${this.countParams().toLocaleString('en-US')}`,
      `Trainable params: ${this.countTrainableParams().toLocaleString('en-US')}`,
      `Non-trainable params: ${(this.countParams() - this.countTrainableParams()).toLocaleString('en-US')}`,
    ].join('\n');
  }

  /** Disposes every variable of this layer tree. */
  dispose(): void {
    for (const w of this.weights()) w.variable.dispose();
  }
}

/** Runs sub-layers in order; the simplest composite. */
export class Sequential extends Layer<tf.Tensor, tf.Tensor> {
  private readonly order: Layer<tf.Tensor, tf.Tensor>[] = [];

  constructor(layers: Layer<tf.Tensor, tf.Tensor>[] = [], opts: LayerOptions = {}) {
    super(opts);
    for (const l of layers) this.push(l);
  }

  push(layer: Layer<tf.Tensor, tf.Tensor>, attr?: string): this {
    this.order.push(this.add(attr ?? `layer_with_weights-${this.order.length}`, layer));
    return this;
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = x;
    for (const l of this.order) y = l.apply(y, args);
    return y;
  }
}
