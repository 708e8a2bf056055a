/**
 * The parallel input pipeline: example sources (TFRecord files, in-memory arrays), a seeded
 * shuffle buffer, map functions in worker threads, batching with padding, prefetch and resume.
 * See ./parallel_pipeline.ts for the stages and their guarantees.
 *
 * tfrecord_source.js reads files with node:fs; code for the browser (workers = 0) imports
 * ./parallel_pipeline.js and ./array_source.js directly instead of this index.
 */
export * from './array_source.js';
export * from './batching.js';
export * from './parallel_pipeline.js';
export * from './record_stream.js';
export * from './shuffle_buffer.js';
export * from './tfrecord_source.js';
export * from './types.js';
export { exampleStreamName } from './map_runner.js';
