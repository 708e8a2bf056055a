/** Building-block layers of vision-garden models (Keras / Model Garden semantics). */
export * from './activations.js';
export * from './attention.js';
export * from './conv.js';
export * from './dense.js';
export * from './detection_generator.js';
export * from './dropout.js';
export * from './normalization.js';
export * from './pooling.js';
export * from './squeeze_excitation.js';
export {
  setKerasDefaultName,
  toTuple,
  checkPadding,
  checkRate,
  type Padding,
} from './layer_utils.js';
