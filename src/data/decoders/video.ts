/**
 * Video classification tf.SequenceExample decoder (Model Garden
 * `official/vision/dataloaders/video_input.py` `Decoder`).
 *
 * Context `clip/label/index`: VarLen int64 (one or more class indices); feature list
 * `image/encoded`: FixedLenSequence string, one encoded (JPEG) frame per step. Extra context or
 * sequence features can be added as in Model Garden's `add_context` / `add_feature`.
 */
import {
  fixedLenSequenceFeature,
  parseSequenceExample,
  varLenFeature,
  type FeatureSpec,
  type FeatureSpecMap,
  type SequenceFeatureSpec,
  type SequenceFeatureSpecMap,
} from './feature_spec.js';
import type { RecordContext } from './errors.js';
import { decodeImage, type DecodedImage } from './image.js';

export const VIDEO_IMAGE_KEY = 'image/encoded';
export const VIDEO_LABEL_KEY = 'clip/label/index';

export interface VideoExample {
  /** Encoded frames, in order. */
  frames: Uint8Array[];
  /** Class indices from clip/label/index. */
  labels: number[];
  /** Every parsed context feature (including the label), by key. */
  context: Record<string, unknown>;
  /** Every parsed sequence feature (including the frames), by key. */
  sequence: Record<string, unknown>;
}

export interface VideoDecoderOptions {
  imageKey?: string;
  labelKey?: string;
}

export class VideoDecoder {
  readonly imageKey: string;
  readonly labelKey: string;
  private readonly contextSpec: FeatureSpecMap;
  private readonly sequenceSpec: SequenceFeatureSpecMap;

  constructor(opts: VideoDecoderOptions = {}) {
    this.imageKey = opts.imageKey ?? VIDEO_IMAGE_KEY;
    this.labelKey = opts.labelKey ?? VIDEO_LABEL_KEY;
    this.contextSpec = { [this.labelKey]: varLenFeature('int64') };
    this.sequenceSpec = { [this.imageKey]: fixedLenSequenceFeature('string') };
  }

  /** Adds a feature-list entry to parse. */
  addFeature(key: string, spec: SequenceFeatureSpec): this {
    this.sequenceSpec[key] = spec;
    return this;
  }

  /** Adds a context entry to parse. */
  addContext(key: string, spec: FeatureSpec): this {
    this.contextSpec[key] = spec;
    return this;
  }

  /** Parses the record (frames stay encoded; see {@link decodeFrames}). */
  decode(bytes: Uint8Array, record: RecordContext = {}): VideoExample {
    const { context, sequence } = parseSequenceExample(
      bytes,
      this.contextSpec,
      this.sequenceSpec,
      record,
    );
    return {
      frames: sequence[this.imageKey] as Uint8Array[],
      labels: context[this.labelKey] as number[],
      context,
      sequence,
    };
  }

  /** Decodes every frame to RGB (errors name the record and frame). */
  async decodeFrames(example: VideoExample, record: RecordContext = {}): Promise<DecodedImage[]> {
    const out: DecodedImage[] = [];
    for (let t = 0; t < example.frames.length; t++) {
      out.push(
        await decodeImage(example.frames[t], {
          channels: 3,
          record,
          key: `${this.imageKey}[${t}]`,
        }),
      );
    }
    return out;
  }
}
