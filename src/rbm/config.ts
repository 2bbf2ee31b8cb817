/**
 * Training configuration of the softmax-visible RBM, with defaults in one place. The defaults are the
 * model a user gets with no flags, from `train` and `evaluate` alike.
 */
import { scaledEpochs, type EpochBudgetRule } from './epochBudget.js';

export type Orientation = 'user' | 'item';

export interface CdStage {
  /** First epoch (1-based) at which this many Gibbs steps are used. */
  fromEpoch: number;
  steps: number;
}

export interface RbmOptions {
  /** F, binary hidden units. */
  hidden: number;
  /** Maximum epochs (early stopping usually ends sooner). */
  epochs: number;
  /** Learning rate ε applied to the batch-averaged CD gradient. */
  lr: number;
  /** Per-epoch multiplicative learning-rate decay (1 = constant). */
  lrDecay: number;
  /** Momentum μ, used from `momentumFromEpoch` on; `initialMomentum` before. */
  momentum: number;
  initialMomentum: number;
  momentumFromEpoch: number;
  /** L2 weight decay λ on W (not on biases). */
  weightDecay: number;
  /** Cases (users for the user RBM, items for the item RBM) per mini-batch. */
  batchSize: number;
  /** CD-T schedule: T rises during training. */
  cdSchedule: CdStage[];
  /** Persistent CD: negative chains continue from the previous update instead of restarting at the data. */
  persistent: boolean;
  /**
   * Negative phase of the last Gibbs step: 'sample' uses the sampled one-hot levels, 'meanField' the
   * reconstruction's probabilities (lower-variance statistics, K× the cost of that step).
   */
  negativePhase: 'sample' | 'meanField';
  /** Stop after this many epochs without a better validation RMSE. */
  patience: number;
  /**
   * Cap the epochs by the data's size (ratingEpochBudget, the rule in epochBudget.ts); false: `epochs` as
   * given. Options stored before the field existed did not cap.
   */
  scaleEpochs: boolean;
  /** Standard deviation of the initial weights. */
  initScale: number;
}

export interface TrainOptions {
  /** Which RBMs to train: one orientation, or both blended (weights fitted on the validation slice). */
  orientation: Orientation | 'both';
  seed: number;
  /** Fraction of the training ratings held out for early stopping and the blend weights. */
  validationFraction: number;
  /**
   * Worker threads that share each model's training (data-parallel over a mini-batch's cases). 1 keeps the
   * single-threaded path; commands default it to the machine's cores.
   */
  threads: number;
  user: RbmOptions;
  item: RbmOptions;
}

const COMMON: RbmOptions = {
  hidden: 100,
  epochs: 60,
  lr: 0.02,
  lrDecay: 1,
  momentum: 0.9,
  initialMomentum: 0.5,
  momentumFromEpoch: 5,
  weightDecay: 0.001,
  batchSize: 20,
  cdSchedule: [
    { fromEpoch: 1, steps: 1 },
    { fromEpoch: 20, steps: 3 },
    { fromEpoch: 35, steps: 5 },
  ],
  persistent: false,
  negativePhase: 'meanField',
  patience: 8,
  initScale: 0.01,
  scaleEpochs: true,
};

/**
 * The rating RBMs' epoch budgets (with `scaleEpochs`), one rule per orientation: at most
 * ⌈updates / batches⌉ epochs, and never fewer than the orientation's minEpochs. ML-100K (48 user batches,
 * 85 item batches of 20) keeps its 60 epochs and the CD-1→3→5 schedule; ML-1M's shape (302 and 186
 * batches) gets 20 and 33, past the validation optimum of its synthetic twin (epochs 12 and 17). The floors
 * hold from 6,000 / minEpochs batches on: above about 8,000 users (user RBM) and 4,300 items (item RBM;
 * MovieLens 25M: 8,128 user and 2,953 item batches). Each floor is where that RBM's validation curve at
 * MovieLens 25M's size has flattened (under 0.1 % an epoch): the user RBM's by epoch 15, the item RBM's,
 * which still gains from CD-3 (epoch 20 on), by epoch 28 (docs/performance.md, "The rating RBMs' epoch
 * budget").
 */
export const RATING_EPOCH_BUDGET: Readonly<Record<Orientation, EpochBudgetRule>> = {
  user: { updates: 6000, minEpochs: 15 },
  item: { updates: 6000, minEpochs: 28 },
};

/** The epochs one rating RBM trains on `cases` rows (users or items), and the early-stopping patience with it. */
export function ratingEpochBudget(options: RbmOptions, cases: number, orientation: Orientation): { epochs: number; patience: number } {
  const rule = RATING_EPOCH_BUDGET[orientation];
  const epochs = options.scaleEpochs ? scaledEpochs(options.epochs, cases, options.batchSize, rule) : options.epochs;
  return { epochs, patience: Math.min(options.patience, epochs) };
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  orientation: 'both',
  seed: 0,
  validationFraction: 0.05,
  threads: 1,
  user: { ...COMMON },
  item: { ...COMMON },
};

/** A partial set of options: top-level fields, plus per-orientation overrides. */
export type TrainOptionsInput = Partial<Omit<TrainOptions, 'user' | 'item'>> & {
  user?: Partial<RbmOptions>;
  item?: Partial<RbmOptions>;
} & Partial<Pick<RbmOptions, 'hidden' | 'epochs' | 'lr' | 'weightDecay' | 'momentum' | 'batchSize' | 'persistent'>>;

/**
 * Merges overrides onto the defaults and checks every value, so bad hyperparameters fail before any work.
 * Shorthand fields (`hidden`, `epochs`, `lr`, …) at the top level apply to both orientations.
 */
export function validateTrainOptions(input: TrainOptionsInput = {}): TrainOptions {
  const shared: Partial<RbmOptions> = {};
  for (const key of ['hidden', 'epochs', 'lr', 'weightDecay', 'momentum', 'batchSize', 'persistent'] as const) {
    if (input[key] !== undefined) (shared as Record<string, unknown>)[key] = input[key];
  }
  const options: TrainOptions = {
    orientation: input.orientation ?? DEFAULT_TRAIN_OPTIONS.orientation,
    seed: input.seed ?? DEFAULT_TRAIN_OPTIONS.seed,
    validationFraction: input.validationFraction ?? DEFAULT_TRAIN_OPTIONS.validationFraction,
    threads: input.threads ?? DEFAULT_TRAIN_OPTIONS.threads,
    user: { ...DEFAULT_TRAIN_OPTIONS.user, ...shared, ...input.user },
    item: { ...DEFAULT_TRAIN_OPTIONS.item, ...shared, ...input.item },
  };
  if (!['user', 'item', 'both'].includes(options.orientation)) {
    throw new RangeError(`orientation must be "user", "item" or "both", got ${JSON.stringify(options.orientation)}`);
  }
  if (!Number.isInteger(options.seed) || options.seed < 0) {
    throw new RangeError(`seed must be a non-negative integer, got ${options.seed}`);
  }
  if (!(options.validationFraction >= 0 && options.validationFraction < 0.5)) {
    throw new RangeError(`validationFraction must be in [0, 0.5), got ${options.validationFraction}`);
  }
  if (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > 256) {
    throw new RangeError(`threads must be an integer from 1 to 256, got ${options.threads}`);
  }
  for (const orientation of ['user', 'item'] as const) checkRbmOptions(options[orientation], orientation);
  return options;
}

function checkRbmOptions(o: RbmOptions, where: string): void {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new RangeError(`${where} RBM option ${field} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  if (!Number.isInteger(o.hidden) || o.hidden <= 0) fail('hidden', 'a positive integer', o.hidden);
  if (!Number.isInteger(o.epochs) || o.epochs <= 0) fail('epochs', 'a positive integer', o.epochs);
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) fail('lr', 'a positive number', o.lr);
  if (!(o.lrDecay > 0 && o.lrDecay <= 1)) fail('lrDecay', 'in (0, 1]', o.lrDecay);
  if (!(o.momentum >= 0 && o.momentum < 1)) fail('momentum', 'in [0, 1)', o.momentum);
  if (!(o.initialMomentum >= 0 && o.initialMomentum < 1)) fail('initialMomentum', 'in [0, 1)', o.initialMomentum);
  if (!Number.isInteger(o.momentumFromEpoch) || o.momentumFromEpoch < 1) {
    fail('momentumFromEpoch', 'a positive integer', o.momentumFromEpoch);
  }
  if (!(o.weightDecay >= 0) || !Number.isFinite(o.weightDecay)) fail('weightDecay', 'a non-negative number', o.weightDecay);
  if (!Number.isInteger(o.batchSize) || o.batchSize <= 0) fail('batchSize', 'a positive integer', o.batchSize);
  if (!Number.isInteger(o.patience) || o.patience <= 0) fail('patience', 'a positive integer', o.patience);
  if (!(o.initScale > 0)) fail('initScale', 'a positive number', o.initScale);
  if (o.negativePhase !== 'sample' && o.negativePhase !== 'meanField') {
    fail('negativePhase', '"sample" or "meanField"', o.negativePhase);
  }
  if (typeof o.persistent !== 'boolean') fail('persistent', 'true or false', o.persistent);
  if (typeof o.scaleEpochs !== 'boolean') fail('scaleEpochs', 'true or false', o.scaleEpochs);
  if (!Array.isArray(o.cdSchedule) || o.cdSchedule.length === 0 || o.cdSchedule[0].fromEpoch !== 1) {
    fail('cdSchedule', 'a list of {fromEpoch, steps} starting at epoch 1', o.cdSchedule);
  }
  for (const stage of o.cdSchedule) {
    if (!Number.isInteger(stage.steps) || stage.steps <= 0) fail('cdSchedule steps', 'a positive integer', stage.steps);
  }
}

/** T for a given epoch under the schedule. */
export function cdStepsAt(schedule: readonly CdStage[], epoch: number): number {
  let steps = schedule[0].steps;
  for (const stage of schedule) if (epoch >= stage.fromEpoch) steps = stage.steps;
  return steps;
}
