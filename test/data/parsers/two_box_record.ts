/**
 * The hand-labelled detection record the parser tests share: a flat grey 32 x 48 PNG with box 0
 * y 0.25..0.5, x 0.125..0.5 (class 3) and box 1 (crowd) y 0..1, x 0.5..1 (class 7).
 */
import {
  bytesFeature,
  encodeExample,
  floatFeature,
  int64Feature,
} from '../../../src/core/proto/index.js';
import { encodePng } from '../../../src/data/decoders/image.js';

const H = 32;
const W = 48;

/** An H x W RGB PNG with every channel `fill`. */
export function greyPng(fill: number): Promise<Uint8Array> {
  return encodePng({
    data: new Uint8Array(H * W * 3).fill(fill),
    height: H,
    width: W,
    channels: 3,
  });
}

/** A tf.train.Example of `png` with the two boxes above (`boxes` false: image features only). */
export function twoBoxRecord(png: Uint8Array, sourceId = '42', boxes = true): Uint8Array {
  return encodeExample({
    'image/encoded': bytesFeature(png),
    'image/source_id': bytesFeature(sourceId),
    'image/height': int64Feature(H),
    'image/width': int64Feature(W),
    ...(boxes
      ? {
          'image/object/bbox/ymin': floatFeature(0.25, 0),
          'image/object/bbox/xmin': floatFeature(0.125, 0.5),
          'image/object/bbox/ymax': floatFeature(0.5, 1),
          'image/object/bbox/xmax': floatFeature(0.5, 1),
          'image/object/class/label': int64Feature(3, 7),
          'image/object/is_crowd': int64Feature(0, 1),
        }
      : {}),
  });
}
