/**
 * The model flags shared by `train` and `evaluate` (node:util parseArgs option specs), and their
 * conversion into TrainOptionsInput with validation before any work starts.
 */
import type { ParseArgsConfig } from 'node:util';
import type { FitOptions } from '../model/index.js';
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

type ModelFlagValues = Partial<Record<keyof typeof MODEL_FLAGS, string | boolean | undefined>>;

function numberFlag(name: string, raw: string | boolean | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Converts parsed flags into validated options (throws RangeError naming the flag). `--epochs` caps every
 * RBM the algorithm trains, the implicit one included: `--epochs 2` means two epochs, whatever the model.
 */
export function modelOptionsFromFlags(values: ModelFlagValues): TrainOptions & Pick<FitOptions, 'implicit'> {
  const input: TrainOptionsInput = {
    hidden: numberFlag('hidden', values.hidden, true),
    epochs: numberFlag('epochs', values.epochs, true),
    lr: numberFlag('lr', values.lr, false),
    weightDecay: numberFlag('weight-decay', values['weight-decay'], false),
    momentum: numberFlag('momentum', values.momentum, false),
    batchSize: numberFlag('batch-size', values['batch-size'], true),
    seed: numberFlag('seed', values.seed, true),
    validationFraction: numberFlag('validation-fraction', values['validation-fraction'], false),
    persistent: values.pcd === true ? true : undefined,
  };
  if (values.orientation !== undefined) input.orientation = values.orientation as TrainOptions['orientation'];
  for (const key of Object.keys(input) as (keyof TrainOptionsInput)[]) if (input[key] === undefined) delete input[key];
  const options = validateTrainOptions(input);
  return input.epochs === undefined ? options : { ...options, implicit: { epochs: input.epochs } };
}
