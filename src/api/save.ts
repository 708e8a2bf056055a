/** `saveModel`: a model as a vg model directory (Node only: it writes files). */
import type { VgModelJson } from '../export/vg_format.js';
import { writeVgModel } from '../export/vg_write.js';
import { modelWeights } from './create.js';
import type { VisionModel } from './vision_model.js';

/** Writes `vm` as a vg model directory (atomically); returns its model.json. */
export async function saveModel(
  vm: VisionModel,
  outDir: string,
  opts: { generatedBy?: string; shardBytes?: number } = {},
): Promise<VgModelJson> {
  return writeVgModel(
    outDir,
    {
      generated_by: opts.generatedBy ?? 'vision-garden',
      task_type: vm.info.taskType,
      experiment: vm.info.experiment,
      config: vm.info.config,
      preprocessing: vm.preprocessing,
      labels: vm.labels,
      label_source: vm.inference.labelSource,
    },
    await modelWeights(vm),
    opts.shardBytes,
  );
}
