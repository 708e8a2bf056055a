/**
 * COCOeval parameters with pycocotools' defaults (PythonAPI/pycocotools/cocoeval.py, Params
 * .setDetParams): IoU thresholds 0.50:0.05:0.95 and recall thresholds 0:0.01:1 built with numpy's
 * `linspace` (bit-exact values matter: IoUs are compared against them), maxDets [1, 10, 100],
 * area ranges all / small (< 32^2) / medium (32^2..96^2) / large (> 96^2), upper bound 1e5^2.
 */
import type { ImageId } from './dataset.js';

export type IouType = 'bbox' | 'segm';

export interface CocoEvalParams {
  iouType: IouType;
  /** Images to evaluate (default: all ground-truth images). Sorted and deduplicated. */
  imgIds?: ImageId[];
  iouThrs: Float64Array;
  recThrs: Float64Array;
  /** Sorted ascending; the last is the per-image detection cap. */
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
}

/** numpy.linspace(start, stop, num) with endpoint: `i * step + start`, last value = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

/** The default detection parameters for `bbox` / `segm`. */
export function defaultParams(iouType: IouType): CocoEvalParams {
  return {
    iouType,
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0, 1e5 ** 2],
      [0, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
  };
}

/** Names of the 12 summary statistics, in `COCOeval.stats` order. */
export const STAT_NAMES = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'ARmax1',
  'ARmax10',
  'ARmax100',
  'ARs',
  'ARm',
  'ARl',
] as const;

/** The 12 summary statistics: [isAP, iouThr | null, area label, maxDets index]. */
export const STAT_DEFINITIONS: readonly [boolean, number | null, string, number][] = [
  [true, null, 'all', 2],
  [true, 0.5, 'all', 2],
  [true, 0.75, 'all', 2],
  [true, null, 'small', 2],
  [true, null, 'medium', 2],
  [true, null, 'large', 2],
  [false, null, 'all', 0],
  [false, null, 'all', 1],
  [false, null, 'all', 2],
  [false, null, 'small', 2],
  [false, null, 'medium', 2],
  [false, null, 'large', 2],
];
