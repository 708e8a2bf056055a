/**
 * The decoder contract: multilevel features in (a backbone's endpoints), multilevel features out,
 * with the output endpoints declared up front as a backbone declares its own (Model Garden's
 * `decoder.output_specs`), so heads can be built from them.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Layer } from '../../core/layer.js';
import type { BackboneOutputSpecs } from '../backbones/contract.js';

export interface Decoder extends Layer<Record<string, tf.Tensor>, Record<string, tf.Tensor>> {
  readonly outputSpecs: BackboneOutputSpecs;
}
