/** Optimizers: pure update rules, the config factory and the eager slot-holding driver. */
export * from './types.js';
export { buildOptimizer } from './factory.js';
export { OptimizerState, type ParamRef, type NamedVariable } from './state.js';
export { Sgd, legacyDecayedLr } from './sgd.js';
export { Adam, kerasAdamStep, type AdamHyper } from './adam.js';
export { AdamWeightDecay } from './adamw.js';
export { Rmsprop } from './rmsprop.js';
export { Lamb, trustRatio } from './lamb.js';
export { Lars } from './lars.js';
export { Adagrad } from './adagrad.js';
