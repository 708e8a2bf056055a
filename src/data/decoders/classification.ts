/**
 * Image classification tf.Example decoder (Model Garden
 * `official/vision/dataloaders/classification_input.py` `Decoder`).
 *
 * Keys: `image/encoded` (FixedLen string, default '') and `image/class/label` (FixedLen int64,
 * default -1; VarLen int64 when multi-label). Unlike Model Garden's decoder, which leaves the
 * bytes to the parser, {@link ClassificationDecoder.decode} also decodes the image.
 */
import { ExampleDecodeError, type RecordContext } from './errors.js';
import { parseExample, scalarFeature, varLenFeature } from './feature_spec.js';
import { decodeImage, type DecodedImage } from './image.js';

export const DEFAULT_IMAGE_FIELD_KEY = 'image/encoded';
export const DEFAULT_LABEL_FIELD_KEY = 'image/class/label';

export interface ClassificationDecoderOptions {
  imageKey?: string;
  labelKey?: string;
  /** Labels as a VarLen list (Model Garden `is_multilabel`). */
  isMultilabel?: boolean;
}

/** One decoded classification example. */
export interface ClassificationExample {
  /** HWC uint8 RGB. */
  image: DecodedImage;
  /** The encoded bytes as stored. */
  encoded: Uint8Array;
  /** Class index; -1 when the record has no label (Model Garden's default). */
  label: number;
  /** All labels (one element unless multi-label). */
  labels: number[];
}

export class ClassificationDecoder {
  readonly imageKey: string;
  readonly labelKey: string;
  readonly isMultilabel: boolean;

  constructor(opts: ClassificationDecoderOptions = {}) {
    this.imageKey = opts.imageKey ?? DEFAULT_IMAGE_FIELD_KEY;
    this.labelKey = opts.labelKey ?? DEFAULT_LABEL_FIELD_KEY;
    this.isMultilabel = opts.isMultilabel ?? false;
  }

  /** Parses the record's features without decoding the image. */
  parse(bytes: Uint8Array, record: RecordContext = {}): { encoded: Uint8Array; labels: number[] } {
    if (this.isMultilabel) {
      const p = parseExample(
        bytes,
        { [this.imageKey]: scalarFeature('string', ''), [this.labelKey]: varLenFeature('int64') },
        record,
      );
      return { encoded: p[this.imageKey] as Uint8Array, labels: p[this.labelKey] as number[] };
    }
    const p = parseExample(
      bytes,
      {
        [this.imageKey]: scalarFeature('string', ''),
        [this.labelKey]: scalarFeature('int64', -1),
      },
      record,
    );
    return { encoded: p[this.imageKey] as Uint8Array, labels: [p[this.labelKey] as number] };
  }

  /** Parses the record and decodes its image to RGB. */
  async decode(bytes: Uint8Array, record: RecordContext = {}): Promise<ClassificationExample> {
    const { encoded, labels } = this.parse(bytes, record);
    if (encoded.length === 0) {
      throw new ExampleDecodeError(record, this.imageKey, 'no image bytes in the record');
    }
    const image = await decodeImage(encoded, { channels: 3, record, key: this.imageKey });
    return { image, encoded, label: labels.length ? labels[0] : -1, labels };
  }
}
