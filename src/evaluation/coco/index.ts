/** COCO evaluation: pycocotools-identical COCOeval, reports, and the streaming evaluator. */
export * from './dataset.js';
export * from './params.js';
export * from './cocoeval.js';
export * from './summary.js';
export * from './streaming.js';
