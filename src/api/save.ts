/** `saveModel`: a model as a vg model directory (Node only: it writes files). */
import type { VgModelJson } from '../export/vg_format.js';
import { writeVgModel } from '../export/vg_write.js';
import { modelMeta, modelWeights } from './create.js';
import type { VisionModel } from './vision_model.js';

/** Writes `vm` as a vg model directory (atomically); returns its model.json. */
export async function saveModel(
  vm: VisionModel,
  outDir: string,
  opts: { generatedBy?: string; shardBytes?: number } = {},
): Promise<VgModelJson> {
  return writeVgModel(
    outDir,
    modelMeta(vm, opts.generatedBy),
    await modelWeights(vm),
    opts.shardBytes,
  );
}
