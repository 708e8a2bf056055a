/**
 * MoViNet video classifier (official/projects/movinet/modeling/movinet_model.py
 * `MovinetClassifier`, `build_movinet_model`) and its config (official/projects/movinet/configs/
 * movinet.py `MovinetModel`), built from Model Garden's snake_case `task.model`.
 *
 * `model.apply({image, states})` takes a video [B, T, H, W, 3] and the stream states of the
 * previous call (absent: zeros) and returns `{logits, states}`. A causal model run on a clip in
 * pieces, each call fed the states of the previous one, gives the whole clip's logits for the
 * frames seen so far (streaming). `initStates(shape)` makes the zero states with Model Garden's
 * names and shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import {
  bool,
  config,
  float,
  noEffect,
  oneOf,
  optStr,
  str,
  notSupported,
  sub,
} from '../../core/config/schema.js';
import { activeBranch } from '../../core/config/schema.js';
import { Movinet } from '../backbones/movinet.js';
import { MOVINET_MODEL_IDS } from '../backbones/movinet_specs.js';
import { ClassifierHead } from '../blocks/movinet_blocks.js';
import type { States } from '../layers/stream_layers.js';

/** MG `configs/movinet.py` `Movinet` (backbone section), with its defaults. */
export const movinetBackboneConfig = config({
  model_id: str('a0'),
  causal: bool(false),
  use_positional_encoding: bool(false),
  /** '3d', '2plus1d' or '3d_2plus1d'. */
  conv_type: str('3d'),
  /** '3d', '2d', '2plus3d' or 'none'. */
  se_type: str('3d'),
  activation: str('swish'),
  gating_activation: str('sigmoid'),
  stochastic_depth_drop_rate: float(0.2),
  /** States are inputs (`model.apply({image, states})`); Model Garden requires a causal model. */
  use_external_states: bool(false),
  /** '3d', '2d' or 'none'. */
  average_pooling_type: str('3d'),
  output_states: noEffect(
    bool(true),
    "the backbone always returns its states here; the model's output_states decides what is output",
  ),
});

/** The video backbone oneOf of a MoViNet model (MG `configs/movinet.py` `Backbone3D`). */
export const movinetBackbone3dConfig = oneOf({ movinet: movinetBackboneConfig }, 'movinet');

/** MG `NormActivation` as MovinetModel sets it (activation None: a legacy flag, unused). */
export const movinetNormActivationConfig = config({
  activation: noEffect(optStr(null), 'not used by MoViNets (Model Garden warns and ignores it)'),
  use_sync_bn: noEffect(bool(true), 'cross-replica batch statistics; one replica here'),
  norm_momentum: float(0.99),
  norm_epsilon: float(0.001),
});

/** MG `MovinetModel` (a `VideoClassificationModel`). */
export const movinetModelConfig = config({
  model_type: str('movinet'),
  backbone: sub(movinetBackbone3dConfig),
  norm_activation: sub(movinetNormActivationConfig),
  dropout_rate: float(0.2),
  aggregate_endpoints: notSupported(bool(false)),
  require_endpoints: notSupported(z.array(z.string()).nullable().default(null)),
  activation: str('swish'),
  /** Output the stream states with the logits. */
  output_states: bool(false),
});

export type MovinetModelConfig = z.infer<typeof movinetModelConfig>;
export type MovinetBackboneConfig = z.infer<typeof movinetBackboneConfig>;

export interface MovinetClassifierInput {
  image: tf.Tensor;
  states?: States;
}

export interface MovinetClassifierOutput {
  logits: tf.Tensor;
  states: States;
}

export interface MovinetClassifierOptions extends LayerOptions {
  backbone: Movinet;
  numClasses: number;
  dropoutRate?: number;
  activation?: string;
  kernelInitializer?: string;
  useExternalStates?: boolean;
  outputStates?: boolean;
}

/** MG `MovinetClassifier`: the backbone's pooled `head` endpoint through the classifier head. */
export class MovinetClassifier extends Layer<MovinetClassifierInput, MovinetClassifierOutput> {
  readonly backbone: Movinet;
  readonly numClasses: number;
  readonly useExternalStates: boolean;
  readonly outputStates: boolean;

  constructor(opts: MovinetClassifierOptions) {
    super({ ...opts, name: opts.name ?? 'movinet_classifier' });
    this.backbone = this.add('_backbone', opts.backbone);
    this.numClasses = opts.numClasses;
    this.useExternalStates = opts.useExternalStates ?? false;
    this.outputStates = opts.outputStates ?? false;
    this.add(
      'classifier_head',
      new ClassifierHead({
        headFilters: opts.backbone.headFilters,
        numClasses: opts.numClasses,
        dropoutRate: opts.dropoutRate ?? 0,
        convType: opts.backbone.convType,
        activation: opts.activation ?? 'swish',
        kernelInitializer: opts.kernelInitializer ?? 'he_normal',
      }),
    );
  }

  /** Zero stream states for a video of `inputShape` [B, T, H, W, 3]. */
  initStates(inputShape: number[]): States {
    return this.backbone.initStates(inputShape);
  }

  protected call(input: MovinetClassifierInput, args: CallArgs): MovinetClassifierOutput {
    if (input.states && Object.keys(input.states).length && !this.useExternalStates) {
      throw new Error(
        `MoViNet '${this.fullPath()}': stream states were given but backbone.movinet.use_external_states is false`,
      );
    }
    const { endpoints, states } = this.backbone.apply(
      { image: input.image, states: input.states },
      args,
    );
    const logits = (this.child('classifier_head') as ClassifierHead).apply(endpoints.head, args);
    return { logits, states };
  }
}

/** Builds the MoViNet classifier of `modelCfg` (MG `build_movinet_model`). */
export function buildMovinetModel(
  modelCfg: MovinetModelConfig,
  numClasses: number,
): MovinetClassifier {
  if (modelCfg.model_type !== 'movinet') {
    throw new Error(`task.model.model_type: expected 'movinet', got '${modelCfg.model_type}'`);
  }
  const b = activeBranch(modelCfg.backbone);
  if (!b) throw new Error('task.model.backbone.type: a MoViNet model needs the movinet backbone');
  if (!MOVINET_MODEL_IDS.includes(b.model_id)) {
    throw new Error(
      `task.model.backbone.movinet.model_id: unknown '${b.model_id}' (one of: ${MOVINET_MODEL_IDS.join(', ')})`,
    );
  }
  if (b.use_external_states && !b.causal) {
    throw new Error(
      'task.model.backbone.movinet.use_external_states: external states need a causal model (causal: true)',
    );
  }
  const na = modelCfg.norm_activation;
  const backbone = new Movinet({
    modelId: b.model_id,
    causal: b.causal,
    usePositionalEncoding: b.use_positional_encoding,
    convType: b.conv_type,
    seType: b.se_type,
    activation: b.activation,
    gatingActivation: b.gating_activation,
    normMomentum: na.norm_momentum,
    normEpsilon: na.norm_epsilon,
    stochasticDepthDropRate: b.stochastic_depth_drop_rate,
    averagePoolingType: b.average_pooling_type,
  });
  return new MovinetClassifier({
    backbone,
    numClasses,
    dropoutRate: modelCfg.dropout_rate,
    activation: modelCfg.activation,
    useExternalStates: b.use_external_states,
    outputStates: modelCfg.output_states,
  });
}

/** Parses a snake_case `task.model` mapping (Model Garden's names) with defaults. */
export function parseMovinetModelConfig(raw: unknown): MovinetModelConfig {
  return movinetModelConfig.parse(raw ?? {});
}

/** The stream-state inputs/outputs convention of compiled inference: `state/<name>`. */
const STATE_PREFIX = 'state/';

/**
 * One streaming step of `model` as a function of named tensors, for compiled inference
 * (src/engine/compile_model.ts `compileModel` / `runStream`): inputs `image` [B, t, H, W, 3] and
 * every state as `state/<MG state name>`; outputs `logits` and `state/<name>` (the states for the
 * next call). `initialStreamInputs` gives the zero states under those names.
 */
export function movinetStreamStep(
  model: MovinetClassifier,
): (inputs: Record<string, tf.Tensor>) => { logits: tf.Tensor; state: States } {
  return (inputs) => {
    const image = inputs.image;
    if (!image) throw new Error("MoViNet stream step: the input 'image' is missing");
    const states: States = {};
    for (const [k, v] of Object.entries(inputs)) {
      if (k.startsWith(STATE_PREFIX)) states[k.slice(STATE_PREFIX.length)] = v;
      else if (k !== 'image') throw new Error(`MoViNet stream step: unknown input '${k}'`);
    }
    const out = model.apply({ image, states }, { training: false });
    return { logits: out.logits, state: out.states };
  };
}

/** Zero states for a stream of clips shaped `inputShape`, keyed `state/<name>`. */
export function initialStreamInputs(model: MovinetClassifier, inputShape: number[]): States {
  const out: States = {};
  for (const [k, v] of Object.entries(model.initStates(inputShape))) out[STATE_PREFIX + k] = v;
  return out;
}
