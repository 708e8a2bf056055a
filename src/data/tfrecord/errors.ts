/** Errors raised while reading or locating TFRecord files. */

/**
 * What is wrong with a record:
 *  - 'truncated': the file ends inside the record;
 *  - 'corrupt-length': the framing is damaged (length CRC mismatch, impossible length, or an
 *    undecodable GZIP stream), so the rest of the file cannot be resynchronised;
 *  - 'corrupt-data': the payload CRC fails; the framing is intact, the next record is readable.
 */
export type DataLossKind = 'truncated' | 'corrupt-length' | 'corrupt-data';

/**
 * A TFRecord file is damaged (TensorFlow raises `DataLossError` for the same conditions).
 * `offset` is the byte offset of the record's 12-byte header in the (decompressed) stream.
 */
export class DataLossError extends Error {
  override name = 'DataLossError';
  constructor(
    readonly kind: DataLossKind,
    readonly file: string,
    readonly recordIndex: number,
    readonly offset: number,
    detail: string,
  ) {
    super(
      `${kind === 'truncated' ? 'truncated' : 'corrupt'} record ${recordIndex} in ${file} at byte offset ${offset}: ${detail}`,
    );
  }
}

/** A path, list or pattern names no readable file. */
export class TFRecordSourceError extends Error {
  override name = 'TFRecordSourceError';
}
