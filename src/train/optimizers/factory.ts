/**
 * Builds an optimizer from Model Garden's OptimizerConfig oneOf (`{type, sgd: {...}, ...}`), as
 * official/modeling/optimization/optimizer_factory.py does with its legacy optimizer classes.
 */
import { Adagrad } from './adagrad.js';
import { Adam } from './adam.js';
import { AdamWeightDecay } from './adamw.js';
import { Lamb } from './lamb.js';
import { Lars } from './lars.js';
import { Rmsprop } from './rmsprop.js';
import { Sgd } from './sgd.js';
import {
  OPTIMIZER_TYPES,
  type Optimizer,
  type OptimizerOneOf,
  type OptimizerType,
} from './types.js';

function isOptimizerType(t: string): t is OptimizerType {
  return (OPTIMIZER_TYPES as readonly string[]).includes(t);
}

/**
 * The optimizer `cfg.type` selects, configured by `cfg[cfg.type]` (missing fields take Model
 * Garden's defaults). Throws when the type is missing or not implemented.
 */
export function buildOptimizer(cfg: OptimizerOneOf): Optimizer {
  const type = cfg?.type;
  if (type === null || type === undefined || type === '') {
    throw new Error(`optimizer.type must be specified (one of: ${OPTIMIZER_TYPES.join(', ')})`);
  }
  if (!isOptimizerType(type)) {
    throw new Error(
      `optimizer.type '${type}' is not supported; choose one of: ${OPTIMIZER_TYPES.join(', ')}`,
    );
  }
  switch (type) {
    case 'sgd':
      return new Sgd(cfg.sgd);
    case 'adam':
      return new Adam(cfg.adam);
    case 'adamw':
      return new AdamWeightDecay(cfg.adamw);
    case 'rmsprop':
      return new Rmsprop(cfg.rmsprop);
    case 'lamb':
      return new Lamb(cfg.lamb);
    case 'lars':
      return new Lars(cfg.lars);
    case 'adagrad':
      return new Adagrad(cfg.adagrad);
  }
}
