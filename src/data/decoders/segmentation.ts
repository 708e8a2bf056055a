/**
 * Semantic segmentation tf.Example decoder (Model Garden
 * `official/vision/dataloaders/segmentation_input.py` `Decoder`, plus the label / image decoding
 * its parser starts with).
 *
 * Keys (all FixedLen): `image/encoded` (string, default ''), `image/height` and `image/width`
 * (int64, default 0), `image/segmentation/class/encoded` (string, default ''; a single-channel
 * PNG label map). As the parser's `tf.reshape(label, (1, height, width))`, the label map and the
 * image must be height x width; a mismatch is an error naming the record.
 */
import { ExampleDecodeError, type RecordContext } from './errors.js';
import { parseExample, scalarFeature } from './feature_spec.js';
import { decodeImage, type DecodedImage } from './image.js';

export const SEGMENTATION_LABEL_KEY = 'image/segmentation/class/encoded';

export interface SegmentationExample {
  /** HWC uint8 RGB. */
  image: DecodedImage;
  height: number;
  width: number;
  /** [height, width] uint8 class ids (255 is Model Garden's default ignore label). */
  label: Uint8Array;
  /** Encoded bytes as stored. */
  encodedImage: Uint8Array;
  encodedLabel: Uint8Array;
}

export interface SegmentationDecoderOptions {
  /** Image feature key (Model Garden `image_feature.feature_name`). */
  imageKey?: string;
}

export class SegmentationDecoder {
  readonly imageKey: string;

  constructor(opts: SegmentationDecoderOptions = {}) {
    this.imageKey = opts.imageKey ?? 'image/encoded';
  }

  async decode(bytes: Uint8Array, record: RecordContext = {}): Promise<SegmentationExample> {
    const p = parseExample(
      bytes,
      {
        [this.imageKey]: scalarFeature('string', ''),
        'image/height': scalarFeature('int64', 0),
        'image/width': scalarFeature('int64', 0),
        [SEGMENTATION_LABEL_KEY]: scalarFeature('string', ''),
      },
      record,
    );
    const encodedImage = p[this.imageKey] as Uint8Array;
    const encodedLabel = p[SEGMENTATION_LABEL_KEY] as Uint8Array;
    const height = p['image/height'] as number;
    const width = p['image/width'] as number;
    const image = await decodeImage(encodedImage, { channels: 3, record, key: this.imageKey });
    const label = await decodeImage(encodedLabel, {
      channels: 1,
      record,
      key: SEGMENTATION_LABEL_KEY,
    });
    for (const [key, img] of [
      [this.imageKey, image],
      [SEGMENTATION_LABEL_KEY, label],
    ] as const) {
      if (img.height !== height || img.width !== width) {
        throw new ExampleDecodeError(
          record,
          key,
          `decoded size ${img.height}x${img.width} differs from image/height x image/width = ${height}x${width}`,
        );
      }
    }
    return { image, height, width, label: label.data, encodedImage, encodedLabel };
  }
}
