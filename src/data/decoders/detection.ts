/**
 * Object detection / instance segmentation tf.Example decoder (Model Garden
 * `official/vision/dataloaders/tf_example_decoder.py` `TfExampleDecoder`).
 *
 * Feature spec (as Model Garden's):
 *   image/encoded            FixedLen string (required)
 *   image/source_id          FixedLen string (required unless regenerateSourceId); when empty,
 *                            or always with regenerateSourceId, the id is generated from the
 *                            image bytes ({@link generateSourceId})
 *   image/height, image/width FixedLen int64, default -1 (then taken from the decoded image)
 *   image/object/bbox/{xmin,xmax,ymin,ymax}  VarLen float32, normalised to [0, 1]
 *   image/object/class/label VarLen int64
 *   image/object/area        VarLen float32; when empty: (xmax-xmin)*(ymax-ymin)*height*width
 *   image/object/is_crowd    VarLen int64; when empty: all false
 *   image/object/mask        VarLen string, one PNG per object (only with includeMask)
 *   image/object/attribute/<name> VarLen int64 (for each requested attribute)
 *
 * Boxes are stacked [N, 4] as [ymin, xmin, ymax, xmax]. Beyond Model Garden, the decoder checks
 * the record's consistency and throws {@link ExampleDecodeError} naming the record: per-object
 * lists of different lengths, a box coordinate outside [0, 1], a mask count that differs from the
 * box count, a mask or image whose size differs from image/height x image/width.
 */
import { ExampleDecodeError, type RecordContext } from './errors.js';
import { parseExample, scalarFeature, varLenFeature, type FeatureSpecMap } from './feature_spec.js';
import { decodeImage, type DecodedImage } from './image.js';
import { toHashBucketFast } from './fingerprint64.js';

/** One decoded detection example, in the layout of Model Garden's decoded tensors. */
export interface DetectionExample {
  /** image/source_id (Model Garden `source_id`). */
  sourceId: string;
  /** HWC uint8 RGB; absent when decoded with `decodeImage: false`. */
  image?: DecodedImage;
  /** The encoded image bytes as stored. */
  encoded: Uint8Array;
  height: number;
  width: number;
  /** Number of objects N. */
  numInstances: number;
  /** [N, 4] row-major: ymin, xmin, ymax, xmax, normalised (`groundtruth_boxes`). */
  boxes: Float32Array;
  /** [N] class ids (`groundtruth_classes`). */
  classes: Int32Array;
  /** [N] (`groundtruth_is_crowd`). */
  isCrowd: boolean[];
  /** [N] areas in pixels (`groundtruth_area`). */
  areas: Float32Array;
  /** [N, height, width] uint8 row-major (`groundtruth_instance_masks`), with includeMask. */
  masks?: Uint8Array;
  /** The PNG bytes of each mask (`groundtruth_instance_masks_png`), with includeMask. */
  masksPng?: Uint8Array[];
  /** Per-object integer attributes, by name, with attributeNames. */
  attributes?: Record<string, number[]>;
}

export interface TfExampleDecoderOptions {
  /** Parse and decode image/object/mask (Model Garden `include_mask`). */
  includeMask?: boolean;
  /** Masks become 1 where value > threshold, else 0 (Model Garden `mask_binarize_threshold`). */
  maskBinarizeThreshold?: number;
  /** Read image/object/attribute/<name> for each name. */
  attributeNames?: string[];
  /** Decode the image pixels (default true); false leaves `image` undefined. */
  decodeImage?: boolean;
  /** Reject box coordinates outside [0, 1] (default true). */
  validateBoxes?: boolean;
  /**
   * Ignore image/source_id and always generate the id from the image bytes (Model Garden
   * `regenerate_source_id`, default false).
   */
  regenerateSourceId?: boolean;
}

/**
 * Model Garden's bucket count for generated source ids: 2^22 - 1, so that the id survives a
 * float32 round trip (tf_example_decoder.py `_generate_source_id`).
 */
export const SOURCE_ID_HASH_BUCKETS = 2 ** 22 - 1;

/**
 * The source id Model Garden gives an example whose image/source_id is empty:
 * `as_string(to_hash_bucket_fast(image/encoded, 2^22 - 1))`, i.e. the decimal string of
 * TF Fingerprint64(encoded bytes) mod 4194303 (official/vision/dataloaders/tf_example_decoder.py).
 */
export function generateSourceId(encoded: Uint8Array): string {
  return toHashBucketFast(encoded, SOURCE_ID_HASH_BUCKETS).toString();
}

const BOX_KEYS = ['ymin', 'xmin', 'ymax', 'xmax'] as const;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Box area in pixels in float32 arithmetic, as Model Garden's `_decode_areas` fallback. */
export function boxAreaFloat32(
  ymin: number,
  xmin: number,
  ymax: number,
  xmax: number,
  height: number,
  width: number,
): number {
  const f = Math.fround;
  return f(f(f(f(xmax - xmin) * f(ymax - ymin)) * f(height)) * f(width));
}

export class TfExampleDecoder {
  private readonly spec: FeatureSpecMap;
  private readonly opts: Required<Omit<TfExampleDecoderOptions, 'maskBinarizeThreshold'>> &
    Pick<TfExampleDecoderOptions, 'maskBinarizeThreshold'>;

  constructor(opts: TfExampleDecoderOptions = {}) {
    this.opts = {
      includeMask: opts.includeMask ?? false,
      maskBinarizeThreshold: opts.maskBinarizeThreshold,
      attributeNames: opts.attributeNames ?? [],
      decodeImage: opts.decodeImage ?? true,
      validateBoxes: opts.validateBoxes ?? true,
      regenerateSourceId: opts.regenerateSourceId ?? false,
    };
    this.spec = {
      'image/encoded': scalarFeature('string'),
      'image/height': scalarFeature('int64', -1),
      'image/width': scalarFeature('int64', -1),
      'image/object/bbox/xmin': varLenFeature('float32'),
      'image/object/bbox/xmax': varLenFeature('float32'),
      'image/object/bbox/ymin': varLenFeature('float32'),
      'image/object/bbox/ymax': varLenFeature('float32'),
      'image/object/class/label': varLenFeature('int64'),
      'image/object/area': varLenFeature('float32'),
      'image/object/is_crowd': varLenFeature('int64'),
    };
    for (const name of this.opts.attributeNames) {
      this.spec[`image/object/attribute/${name}`] = varLenFeature('int64');
    }
    if (this.opts.includeMask) this.spec['image/object/mask'] = varLenFeature('string');
    // As Model Garden: with regenerate_source_id the key is not parsed (so not required).
    if (!this.opts.regenerateSourceId) this.spec['image/source_id'] = scalarFeature('string');
  }

  /** Decodes one serialized Example; `record` names it in errors (pass the TFRecord). */
  async decode(bytes: Uint8Array, record: RecordContext = {}): Promise<DetectionExample> {
    const p = parseExample(bytes, this.spec, record);
    const fail = (key: string | undefined, detail: string) =>
      new ExampleDecodeError(record, key, detail);
    const encoded = p['image/encoded'] as Uint8Array;
    const storedId = this.opts.regenerateSourceId
      ? new Uint8Array(0)
      : (p['image/source_id'] as Uint8Array);
    const sourceId = storedId.length > 0 ? utf8.decode(storedId) : generateSourceId(encoded);
    const coords = BOX_KEYS.map((k) => p[`image/object/bbox/${k}`] as Float32Array);
    const n = coords[0].length;
    BOX_KEYS.forEach((k, i) => {
      if (coords[i].length !== n) {
        throw fail(
          `image/object/bbox/${k}`,
          `has ${coords[i].length} values but image/object/bbox/ymin has ${n}`,
        );
      }
    });
    const boxes = new Float32Array(n * 4);
    for (let j = 0; j < n; j++) {
      for (let c = 0; c < 4; c++) {
        const v = coords[c][j];
        if (this.opts.validateBoxes && !(v >= 0 && v <= 1)) {
          throw fail(
            `image/object/bbox/${BOX_KEYS[c]}`,
            `box ${j} has ${BOX_KEYS[c]} = ${v}, outside the normalised range [0, 1]`,
          );
        }
        boxes[j * 4 + c] = v;
      }
    }
    const labels = p['image/object/class/label'] as number[];
    if (labels.length !== n) {
      throw fail('image/object/class/label', `has ${labels.length} values for ${n} boxes`);
    }
    const crowdRaw = p['image/object/is_crowd'] as number[];
    if (crowdRaw.length > 0 && crowdRaw.length !== n) {
      throw fail('image/object/is_crowd', `has ${crowdRaw.length} values for ${n} boxes`);
    }
    const isCrowd =
      crowdRaw.length > 0 ? crowdRaw.map((v) => v !== 0) : new Array<boolean>(n).fill(false);

    let image: DecodedImage | undefined;
    if (this.opts.decodeImage) {
      image = await decodeImage(encoded, { channels: 3, record, key: 'image/encoded' });
    }
    let height = p['image/height'] as number;
    let width = p['image/width'] as number;
    if (height === -1 || width === -1) {
      if (!image) {
        throw fail(
          'image/height',
          'image/height or image/width is missing and the image is not decoded',
        );
      }
      height = image.height;
      width = image.width;
    } else if (image && (image.height !== height || image.width !== width)) {
      throw fail(
        'image/encoded',
        `decoded image is ${image.height}x${image.width} but image/height x image/width is ${height}x${width}`,
      );
    }

    const areaRaw = p['image/object/area'] as Float32Array;
    if (areaRaw.length > 0 && areaRaw.length !== n) {
      throw fail('image/object/area', `has ${areaRaw.length} values for ${n} boxes`);
    }
    const areas =
      areaRaw.length > 0
        ? areaRaw
        : Float32Array.from({ length: n }, (_, j) =>
            boxAreaFloat32(
              boxes[j * 4],
              boxes[j * 4 + 1],
              boxes[j * 4 + 2],
              boxes[j * 4 + 3],
              height,
              width,
            ),
          );

    const out: DetectionExample = {
      sourceId,
      image,
      encoded,
      height,
      width,
      numInstances: n,
      boxes,
      classes: Int32Array.from(labels),
      isCrowd,
      areas,
    };
    if (this.opts.attributeNames.length) {
      out.attributes = {};
      for (const name of this.opts.attributeNames) {
        const key = `image/object/attribute/${name}`;
        const values = p[key] as number[];
        if (values.length !== n) throw fail(key, `has ${values.length} values for ${n} boxes`);
        out.attributes[name] = values;
      }
    }
    if (this.opts.includeMask) {
      const pngs = p['image/object/mask'] as Uint8Array[];
      if (pngs.length !== n) {
        throw fail('image/object/mask', `mask count ${pngs.length} does not match box count ${n}`);
      }
      out.masksPng = pngs;
      out.masks = await this.decodeMasks(pngs, height, width, record);
    }
    return out;
  }

  private async decodeMasks(
    pngs: Uint8Array[],
    height: number,
    width: number,
    record: RecordContext,
  ): Promise<Uint8Array> {
    const masks = new Uint8Array(pngs.length * height * width);
    const threshold = this.opts.maskBinarizeThreshold;
    for (let j = 0; j < pngs.length; j++) {
      const m = await decodeImage(pngs[j], { channels: 1, record, key: `image/object/mask[${j}]` });
      if (m.height !== height || m.width !== width) {
        throw new ExampleDecodeError(
          record,
          'image/object/mask',
          `mask ${j} is ${m.height}x${m.width}, the image is ${height}x${width}`,
        );
      }
      if (threshold === undefined) {
        masks.set(m.data, j * height * width);
      } else {
        const base = j * height * width;
        for (let i = 0; i < m.data.length; i++) masks[base + i] = m.data[i] > threshold ? 1 : 0;
      }
    }
    return masks;
  }
}
