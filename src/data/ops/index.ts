/**
 * Image and box ops with TensorFlow / Model Garden semantics on typed arrays (see ./image.ts).
 * JPEG/PNG decoding is the decoders' `decodeImage` (libturbojpeg or sharp), re-exported here.
 */
export { decodeImage, type DecodedImage } from '../decoders/image.js';
export * from './image.js';
export * from './resize.js';
export * from './normalize.js';
export * from './flip.js';
export * from './resize_and_crop.js';
export * from './crop.js';
export * from './color_ops.js';
export * from './geometric_ops.js';
export * from './erase.js';
export * from './autoaugment.js';
export * from './mixup_cutmix.js';
export * from './color_jitter.js';
