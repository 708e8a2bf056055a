/** Experiment configs: schemas with Model Garden's fields, YAML I/O, overrides, validation. */
export * from './schema.js';
export * from './errors.js';
export * from './describe.js';
export * from './merge.js';
export * from './load.js';
export * from './overrides.js';
export * from './resolve.js';
export * from './optimization.js';
export * from './definitions.js';
export * from './vision_common.js';
export * from './extensions.js';
