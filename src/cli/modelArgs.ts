/**
 * The model flags shared by `train` and `evaluate` (node:util parseArgs option specs), and their
 * conversion into TrainOptionsInput with validation before any work starts (ranges: rbm/config.ts).
 */
import { availableParallelism } from 'node:os';
import type { ParseArgsConfig } from 'node:util';
import type { FitOptions } from '../model/index.js';
import { integerFlag, numberFlag } from './common.js';
import { validateTrainOptions, type TrainOptions, type TrainOptionsInput } from '../rbm/config.js';
import { validateEaseOptions } from '../model/easeConfig.js';
import { validateIalsOptions } from '../model/ialsConfig.js';

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
  threads: { type: 'string' },
  'ease-lambda': { type: 'string' },
  'ials-factors': { type: 'string' },
  'ials-regularization': { type: 'string' },
  'ials-alpha': { type: 'string' },
  'ials-iterations': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type ModelFlagValues = {
  [K in keyof typeof MODEL_FLAGS]?: (typeof MODEL_FLAGS)[K]['type'] extends 'boolean' ? boolean : string;
};

/** A comma-separated list of numbers (a grid of one or more values), or undefined when the flag is absent. */
function listFlag(name: string, raw: string | boolean | undefined, integer: boolean): number[] | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new RangeError(`--${name} needs a value`);
  return raw.split(',').map((part) => (integer ? integerFlag(part.trim(), name) : numberFlag(part.trim(), name)) as number);
}

/**
 * The closed-form baselines' grids from their flags: `--ease-lambda 500` (or `200,500`) replaces EASE's λ
 * grid, `--ials-factors`, `--ials-regularization`, `--ials-alpha` replace those dimensions of implicit
 * ALS's grid, `--ials-iterations N` caps its iterations. One value is a pin; each is validated by the
 * algorithm's own option check (easeConfig.ts, ialsConfig.ts) before any work.
 */
function baselineOptionsFromFlags(values: ModelFlagValues): Pick<FitOptions, 'ease' | 'ials'> {
  const lambdas = listFlag('ease-lambda', values['ease-lambda'], false);
  const ials = {
    factors: listFlag('ials-factors', values['ials-factors'], true),
    regularization: listFlag('ials-regularization', values['ials-regularization'], false),
    alpha: listFlag('ials-alpha', values['ials-alpha'], false),
    maxIterations: integerFlag(values['ials-iterations'], 'ials-iterations'),
  };
  const given = Object.fromEntries(Object.entries(ials).filter(([, v]) => v !== undefined));
  // Checked now, passed on as given (the defaults, the seed among them, are filled in by the fit).
  const out: Pick<FitOptions, 'ease' | 'ials'> = {};
  if (lambdas) validateEaseOptions((out.ease = { lambdas }));
  if (Object.keys(given).length > 0) validateIalsOptions((out.ials = given));
  return out;
}

/**
 * Converts parsed flags into validated options (throws RangeError naming the flag). `--epochs` sets every
 * RBM the algorithm trains, the implicit one included, and turns the epoch budget off (rbm/epochBudget.ts):
 * `--epochs 40` means forty epochs (early stopping still applies to the rating RBMs), whatever the size
 * of the catalog; without it each RBM trains its default epochs capped by the budget.
 */
export function modelOptionsFromFlags(values: ModelFlagValues): TrainOptions & Pick<FitOptions, 'implicit' | 'ease' | 'ials'> {
  const input: TrainOptionsInput = {
    hidden: integerFlag(values.hidden, 'hidden'),
    epochs: integerFlag(values.epochs, 'epochs'),
    lr: numberFlag(values.lr, 'lr'),
    weightDecay: numberFlag(values['weight-decay'], 'weight-decay'),
    momentum: numberFlag(values.momentum, 'momentum'),
    batchSize: integerFlag(values['batch-size'], 'batch-size'),
    seed: integerFlag(values.seed, 'seed'),
    validationFraction: numberFlag(values['validation-fraction'], 'validation-fraction'),
    // Every core by default: training is data-parallel over worker threads (--threads 1: one thread).
    threads: integerFlag(values.threads, 'threads') ?? availableParallelism(),
    persistent: values.pcd === true ? true : undefined,
  };
  if (values.orientation !== undefined) input.orientation = values.orientation as TrainOptions['orientation'];
  if (input.epochs !== undefined) {
    input.user = { scaleEpochs: false };
    input.item = { scaleEpochs: false };
  }
  for (const key of Object.keys(input) as (keyof TrainOptionsInput)[]) if (input[key] === undefined) delete input[key];
  const options = { ...validateTrainOptions(input), ...baselineOptionsFromFlags(values) };
  return input.epochs === undefined ? options : { ...options, implicit: { epochs: input.epochs, scaleEpochs: false } };
}
