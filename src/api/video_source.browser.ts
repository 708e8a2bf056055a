/**
 * Video paths in the browser (package.json `browser` maps ./video_source.js here): decoding a
 * video file needs ffmpeg, so the browser build takes decoded frames or a tensor instead.
 */
import type * as NodeSource from './video_source.js';
import { nodeOnly } from '../core/node_only.js';

export const readVideoPath: typeof NodeSource.readVideoPath = async () =>
  nodeOnly(
    'reading a video file',
    'pass decoded RGB frames or a [frames, height, width, 3] tensor',
  );
