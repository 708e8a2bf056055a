/**
 * Reporting for {@link CocoEval}: the pycocotools summary lines, per-category results and an
 * AP table, and the JSON report whose keys match the coco-eval golden `expected.json` files.
 */
import type { CocoEval } from './cocoeval.js';
import { STAT_DEFINITIONS, STAT_NAMES } from './params.js';

/**
 * Python's `'{:0.3f}'.format(x)`: like `toFixed(3)`, but exact ties (x*1000 ending in .5
 * exactly, which happens for multiples of 1/16) round half to even.
 */
export function formatFixed3(x: number): string {
  const scaled = x * 1000;
  if (
    Number.isFinite(x) &&
    Math.abs(x) < 1e6 &&
    scaled - Math.floor(scaled) === 0.5 &&
    (x * 16) % 1 === 0
  ) {
    let n = Math.floor(scaled);
    if (n % 2 !== 0) n += 1;
    const neg = n < 0;
    const s = String(Math.abs(n)).padStart(4, '0');
    return `${neg ? '-' : ''}${s.slice(0, -3)}.${s.slice(-3)}`;
  }
  return x.toFixed(3);
}

/** One pycocotools summary line, e.g. ` Average Precision  (AP) @[ IoU=0.50:0.95 | ... ] = 0.241`. */
export function summaryLine(
  ap: boolean,
  iouStr: string,
  areaLbl: string,
  maxDets: number,
  value: number,
): string {
  const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
  const type = ap ? '(AP)' : '(AR)';
  return ` ${title} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${areaLbl.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed3(value)}`;
}

/** The 12 lines `COCOeval.summarize()` prints, from computed stats. */
export function summaryLines(ev: CocoEval, stats: readonly number[] = ev.stats): string[] {
  const thr = ev.params.iouThrs;
  const md = ev.params.maxDets;
  const all = `${thr[0].toFixed(2)}:${thr[thr.length - 1].toFixed(2)}`;
  return STAT_DEFINITIONS.map(([ap, t, area, mi], i) =>
    summaryLine(ap, t === null ? all : t.toFixed(2), area, i === 0 ? 100 : md[mi], stats[i]),
  );
}

/** Statistics of one category. */
export interface CategoryResult {
  id: number;
  name: string;
  /** The 12 statistics restricted to this category (-1 where it has no ground truth). */
  stats: number[];
}

/** The 12 statistics per ground-truth category, in category-id order. */
export function perCategoryResults(ev: CocoEval): CategoryResult[] {
  return ev.gt.categories.map((c, k) => ({
    id: c.id,
    name: typeof c.name === 'string' ? c.name : String(c.id),
    stats: ev.summarize(k),
  }));
}

/** A fixed-width table of per-category AP, AP50, AP75 and AR100 (3 decimals; -1 = no GT). */
export function perCategoryTable(results: readonly CategoryResult[]): string {
  const nameW = Math.max(8, ...results.map((r) => r.name.length));
  const cols = ['AP', 'AP50', 'AP75', 'ARmax100'];
  const idx = [0, 1, 2, 8];
  const head = `${'id'.padStart(4)}  ${'category'.padEnd(nameW)}  ${cols.map((c) => c.padStart(8)).join('')}`;
  const rows = results.map(
    (r) =>
      `${String(r.id).padStart(4)}  ${r.name.padEnd(nameW)}  ${idx.map((i) => formatFixed3(r.stats[i]).padStart(8)).join('')}`,
  );
  return [head, '-'.repeat(head.length), ...rows].join('\n');
}

/** The JSON report: keys as in the golden `expected.json` files. */
export interface CocoReport {
  iouType: string;
  stats_names: string[];
  stats: number[];
  'per_category_AP_0.50:0.95_all_100': Record<string, number>;
  'per_category_AP_0.50_all_100': Record<string, number>;
  summarize_output: string[];
  /** The statistics by Model Garden's metric names (AP, AP50, ..., ARl). */
  metrics: Record<string, number>;
}

/** Builds the {@link CocoReport} of an evaluated {@link CocoEval}. */
export function cocoReport(ev: CocoEval): CocoReport {
  const stats = ev.stats.length ? ev.stats : ev.summarize();
  const names = [
    'AP@[.5:.95]|all|100',
    'AP@.5|all|100',
    'AP@.75|all|100',
    'AP@[.5:.95]|small|100',
    'AP@[.5:.95]|medium|100',
    'AP@[.5:.95]|large|100',
    'AR@[.5:.95]|all|1',
    'AR@[.5:.95]|all|10',
    'AR@[.5:.95]|all|100',
    'AR@[.5:.95]|small|100',
    'AR@[.5:.95]|medium|100',
    'AR@[.5:.95]|large|100',
  ];
  const apAll: Record<string, number> = {};
  const ap50: Record<string, number> = {};
  ev.gt.catIds.forEach((id, k) => {
    apAll[String(id)] = ev.summarizeOne(true, null, 'all', 100, k);
    ap50[String(id)] = ev.summarizeOne(true, 0.5, 'all', 100, k);
  });
  return {
    iouType: ev.params.iouType,
    stats_names: names,
    stats,
    'per_category_AP_0.50:0.95_all_100': apAll,
    'per_category_AP_0.50_all_100': ap50,
    summarize_output: summaryLines(ev, stats),
    metrics: Object.fromEntries(STAT_NAMES.map((n, i) => [n, stats[i]])),
  };
}
