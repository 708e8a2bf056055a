/** Importing this module registers every task family and its experiments. */
import './image_classification/index.js';
import './retinanet/index.js';
import './video_classification/index.js';
import './semantic_segmentation/index.js';
