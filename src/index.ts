/** vision-garden public API. */
export * from './core/random.js';
export * from './core/layer.js';
export * from './core/backend/index.js';
