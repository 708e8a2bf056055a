/** TFRecord files: streaming reader and writer, file patterns, data-loss errors. */
export * from './errors.js';
export * from './file_patterns.js';
export * from './framing.js';
export * from './reader.js';
export * from './writer.js';
