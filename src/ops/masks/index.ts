/** COCO masks: RLE codec, polygon rasterisation, IoU, and instance-mask pasting. */
export * from './rle.js';
export * from './polygon.js';
export * from './iou.js';
export * from './coco_segmentation.js';
export * from './paste.js';
export * from './crop_and_resize.js';
