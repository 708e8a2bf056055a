/**
 * `vision-garden evaluate-coco`: COCO box or mask AP of a results file against an instances
 * file, computed as pycocotools' COCOeval. Prints the familiar 12-line summary, or with
 * `--json` the statistics with the keys of the coco-eval golden `expected.json` files.
 */
import { Command, Option } from 'commander';
import { CocoGroundTruth } from '../evaluation/coco/dataset.js';
import { CocoEval } from '../evaluation/coco/cocoeval.js';
import type { IouType } from '../evaluation/coco/params.js';
import {
  cocoReport,
  perCategoryResults,
  perCategoryTable,
  summaryLines,
} from '../evaluation/coco/summary.js';

interface EvaluateCocoFlags {
  gt: string;
  results: string;
  iou_type: IouType;
  json?: boolean;
  per_category?: boolean;
}

/**
 * Adds the `evaluate-coco` command to `program`. `write` receives the output (stdout by default).
 * Errors (unreadable files, malformed entries) are thrown with the file and entry named.
 */
export function registerEvaluateCoco(
  program: Command,
  write: (text: string) => void = (t) => process.stdout.write(t),
): void {
  program
    .command('evaluate-coco')
    .description('COCO bbox/segm AP of a results file, identical to pycocotools COCOeval')
    .requiredOption('--gt <file>', 'COCO instances JSON (ground truth)')
    .requiredOption('--results <file>', 'COCO results JSON (list of detections)')
    .addOption(
      new Option('--iou_type <type>', 'what to evaluate').choices(['bbox', 'segm']).default('bbox'),
    )
    .option('--json', 'print the statistics as JSON')
    .option('--per_category', 'also print per-category AP (text) / statistics (JSON)')
    .action((flags: EvaluateCocoFlags) => {
      const gt = CocoGroundTruth.fromFile(flags.gt);
      const dt = gt.loadResultsFile(flags.results);
      const ev = new CocoEval(gt, dt, flags.iou_type);
      ev.run();
      if (flags.json) {
        const report: Record<string, unknown> = { ...cocoReport(ev) };
        if (flags.per_category) report.per_category = perCategoryResults(ev);
        write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      write(`${summaryLines(ev).join('\n')}\n`);
      if (flags.per_category) write(`\n${perCategoryTable(perCategoryResults(ev))}\n`);
    });
}
