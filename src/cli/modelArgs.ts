/**
 * The model flags shared by `train` and `evaluate` (node:util parseArgs option specs), and their
 * conversion into TrainOptionsInput with validation before any work starts (ranges: rbm/config.ts).
 */
import type { ParseArgsConfig } from 'node:util';
import type { FitOptions } from '../model/index.js';
import { integerFlag, numberFlag } from './common.js';
import { validateTrainOptions, type TrainOptions, type TrainOptionsInput } from '../rbm/config.js';

export const MODEL_FLAGS = {
  hidden: { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  'weight-decay': { type: 'string' },
  momentum: { type: 'string' },
  'batch-size': { type: 'string' },
  seed: { type: 'string' },
  orientation: { type: 'string' },
  pcd: { type: 'boolean' },
  'validation-fraction': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type ModelFlagValues = {
  [K in keyof typeof MODEL_FLAGS]?: (typeof MODEL_FLAGS)[K]['type'] extends 'boolean' ? boolean : string;
};

/**
 * Converts parsed flags into validated options (throws RangeError naming the flag). `--epochs` caps every
 * RBM the algorithm trains, the implicit one included: `--epochs 2` means two epochs, whatever the model.
 */
export function modelOptionsFromFlags(values: ModelFlagValues): TrainOptions & Pick<FitOptions, 'implicit'> {
  const input: TrainOptionsInput = {
    hidden: integerFlag(values.hidden, 'hidden'),
    epochs: integerFlag(values.epochs, 'epochs'),
    lr: numberFlag(values.lr, 'lr'),
    weightDecay: numberFlag(values['weight-decay'], 'weight-decay'),
    momentum: numberFlag(values.momentum, 'momentum'),
    batchSize: integerFlag(values['batch-size'], 'batch-size'),
    seed: integerFlag(values.seed, 'seed'),
    validationFraction: numberFlag(values['validation-fraction'], 'validation-fraction'),
    persistent: values.pcd === true ? true : undefined,
  };
  if (values.orientation !== undefined) input.orientation = values.orientation as TrainOptions['orientation'];
  for (const key of Object.keys(input) as (keyof TrainOptionsInput)[]) if (input[key] === undefined) delete input[key];
  const options = validateTrainOptions(input);
  return input.epochs === undefined ? options : { ...options, implicit: { epochs: input.epochs } };
}
