/** Errors of the tf.Example decoders, naming the file and record they came from. */

/**
 * Where a serialized record came from. A {@link TFRecord} from the reader has all three fields;
 * callers decoding bytes from elsewhere may give only what they know.
 */
export interface RecordContext {
  file?: string;
  /** 0-based record index in its file. */
  index?: number;
  /** Byte offset of the record's header in its file. */
  offset?: number;
}

/**
 * "record 3 of data/train-00000-of-00004 (byte offset 12042)", or what is known of it (just the
 * file for an image read from disk; "record" when nothing is known).
 */
export function describeRecord(ctx: RecordContext = {}): string {
  const parts: string[] = [];
  if (ctx.index !== undefined) parts.push(`record ${ctx.index}`);
  if (ctx.file !== undefined) parts.push(ctx.index !== undefined ? `of ${ctx.file}` : ctx.file);
  if (ctx.offset !== undefined) parts.push(`(byte offset ${ctx.offset})`);
  return parts.length ? parts.join(' ') : 'record';
}

/**
 * A record does not match what the decoder expects: a required feature is missing, has the wrong
 * type or count, an image does not decode, a box is outside [0, 1], masks and boxes disagree.
 */
export class ExampleDecodeError extends Error {
  override name = 'ExampleDecodeError';
  constructor(
    readonly record: RecordContext,
    /** The feature key concerned, when there is one. */
    readonly key: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${describeRecord(record)}${key === undefined ? '' : `, feature '${key}'`}: ${detail}`,
      options,
    );
  }
}
