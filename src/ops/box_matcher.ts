/**
 * Matching rows (anchors) to columns (ground-truth boxes) by a similarity such as IoU, as Model
 * Garden's `BoxMatcher` (official/vision/ops/box_matcher.py).
 *
 * Each row is matched to its most similar column (the first on ties, as tf.argmax) and gets an
 * indicator by where that best similarity falls among the sorted thresholds: with thresholds
 * [t0, t1] and indicators [a, b, c], a value below t0 gets a, one in [t0, t1) gets b and one
 * >= t1 gets c. With `forceMatchForEachCol`, every column's most similar row (the first on ties)
 * is matched to that column with the last indicator, whatever its similarity; when several
 * columns pick the same row, the lowest column wins. With no columns, every row gets column 0 and
 * indicator -1.
 */

/** Per-row best column and value, and per-column best row: all the matcher needs. */
export interface SimilarityReduction {
  numRows: number;
  numCols: number;
  /** [numRows] the largest similarity of each row (unused when numCols = 0). */
  rowMax: Float32Array;
  /** [numRows] the first column reaching it. */
  rowArgmax: Int32Array;
  /** [numCols] the first row with the largest similarity in each column. */
  colArgmax: Int32Array;
}

/** The matcher's answer per row. */
export interface MatchResult {
  /** [numRows] the matched column of each row. */
  matchedColumns: Int32Array;
  /** [numRows] the indicator of each row's match. */
  indicators: Int32Array;
}

/**
 * Reduces a row-major [numRows, numCols] similarity matrix for {@link BoxMatcher.matchReduced}.
 * Callers that can compute similarities on the fly (the anchor labeller) build the same
 * reduction without materialising the matrix.
 */
export function reduceSimilarity(
  similarity: ArrayLike<number>,
  numRows: number,
  numCols: number,
): SimilarityReduction {
  if (similarity.length !== numRows * numCols) {
    throw new RangeError(
      `reduceSimilarity: ${similarity.length} values for a ${numRows} x ${numCols} matrix`,
    );
  }
  const red = emptyReduction(numRows, numCols);
  const colMax = new Float32Array(numCols).fill(-Infinity);
  for (let i = 0; i < numRows; i++) {
    const row = i * numCols;
    for (let j = 0; j < numCols; j++) updateReduction(red, colMax, i, j, similarity[row + j]);
  }
  return red;
}

/** A reduction to fill with {@link updateReduction}, visiting rows in increasing order. */
export function emptyReduction(numRows: number, numCols: number): SimilarityReduction {
  return {
    numRows,
    numCols,
    rowMax: new Float32Array(numRows).fill(-Infinity),
    rowArgmax: new Int32Array(numRows),
    colArgmax: new Int32Array(numCols),
  };
}

/**
 * Folds similarity `v` of (row i, column j) into `red`; `colMax` ([numCols], starting at
 * -Infinity) holds the running column maxima. Rows must come in increasing order and, within a
 * row, columns in increasing order, so that strict comparisons keep the first maximum (tf.argmax).
 */
export function updateReduction(
  red: SimilarityReduction,
  colMax: Float32Array,
  i: number,
  j: number,
  v: number,
): void {
  if (j === 0 || v > red.rowMax[i]) {
    red.rowMax[i] = v;
    red.rowArgmax[i] = j;
  }
  if (i === 0 || v > colMax[j]) {
    colMax[j] = v;
    red.colArgmax[j] = i;
  }
}

export interface BoxMatcherOptions {
  /** Sorted thresholds splitting similarities into len + 1 bands. */
  thresholds: readonly number[];
  /** One indicator per band (thresholds.length + 1), e.g. [-1, -2, 1]. */
  indicators: readonly number[];
  /** Give every column at least its best row (default false). */
  forceMatchForEachCol?: boolean;
}

export class BoxMatcher {
  private readonly bounds: number[];
  private readonly indicators: readonly number[];
  private readonly force: boolean;

  constructor(opts: BoxMatcherOptions) {
    const { thresholds, indicators } = opts;
    if (!thresholds.every((t) => typeof t === 'number' && !Number.isNaN(t))) {
      throw new RangeError(
        `BoxMatcher: thresholds must be numbers, got [${thresholds.join(', ')}]`,
      );
    }
    for (let k = 1; k < thresholds.length; k++) {
      if (!(thresholds[k - 1] <= thresholds[k])) {
        throw new RangeError(
          `BoxMatcher: thresholds must be sorted, got [${thresholds.join(', ')}]`,
        );
      }
    }
    if (indicators.length !== thresholds.length + 1 || !indicators.every(Number.isInteger)) {
      throw new RangeError(
        `BoxMatcher: need ${thresholds.length + 1} integer indicators for ` +
          `${thresholds.length} thresholds, got [${indicators.join(', ')}]`,
      );
    }
    // Bands [bounds[k], bounds[k + 1]) in float32, as the comparison with matched_vals' dtype.
    this.bounds = [-Infinity, ...thresholds.map((t) => Math.fround(t)), Infinity];
    this.indicators = [...indicators];
    this.force = opts.forceMatchForEachCol ?? false;
  }

  /** Matches the rows of a row-major [numRows, numCols] similarity matrix. */
  match(similarity: ArrayLike<number>, numRows: number, numCols: number): MatchResult {
    return this.matchReduced(reduceSimilarity(similarity, numRows, numCols));
  }

  /** Matches from a {@link SimilarityReduction}. */
  matchReduced(red: SimilarityReduction): MatchResult {
    const { numRows, numCols } = red;
    const matchedColumns = new Int32Array(numRows);
    const indicators = new Int32Array(numRows);
    if (numCols === 0) {
      indicators.fill(-1);
      return { matchedColumns, indicators };
    }
    const bands = this.indicators.length;
    for (let i = 0; i < numRows; i++) {
      const v = red.rowMax[i];
      matchedColumns[i] = red.rowArgmax[i];
      // A value in no band (NaN) keeps 0, as Model Garden's masks leave it.
      for (let k = 0; k < bands; k++) {
        if (v >= this.bounds[k] && v < this.bounds[k + 1]) {
          indicators[i] = this.indicators[k];
          break;
        }
      }
    }
    if (this.force) {
      const forced = this.indicators[bands - 1];
      // Descending, so that the lowest column claiming a row is written last and wins.
      for (let j = numCols - 1; j >= 0; j--) {
        const row = red.colArgmax[j];
        matchedColumns[row] = j;
        indicators[row] = forced;
      }
    }
    return { matchedColumns, indicators };
  }
}
