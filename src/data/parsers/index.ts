/**
 * Parsers: Model Garden's per-example decode + augment steps as pipeline map functions
 * (src/data/pipeline), each a factory `(options) => (bytes, ctx) => features` that worker
 * threads import by module URL and export name.
 */
export * from './features.js';
export * from './classification_parser.js';
export * from './detection_parser.js';
export * from './retinanet_parser.js';
export * from './segmentation_parser.js';
