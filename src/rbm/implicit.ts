/**
 * The implicit-feedback RBM as a trained model: fitting from a Dataset (per-user validation slice carved
 * from the training ratings, early stopping by nDCG@k on it), p(watch) of every item for a user or a
 * block of users, and storage as Float32 tensors plus a JSON config.
 *
 * Scoring a user folds them in from their rated items alone (no retraining):
 *   p̂ = E[h | c + s(n) Σ_{i rated} W_i],   p(watch i) = σ(b_i + a Σ_j p̂_j W[i,j])
 * (E[h | x] = σ(x) for binary hidden units, x for Gaussian ones: implicitParams.ts hiddenMean), with s(n) = √(n_med / n) the activity scale of a user with n rated items (1 for models without it; at
 * s = 1, p̂ = p(h | v)) and a the visible scale (1, or 1/E for an ensemble of E members).
 * the mean-field reconstruction of every visible unit. For a block of B users this is one dense product
 * P̂ (B×F) · Wᵀ (F×I) + b. Pure: no I/O.
 */
import type { Dataset } from '../data/dataset.js';
import type { EpochReport } from './train.js';
import { Rng, xoshiroJump } from '../rng.js';
import { scaledEpochs, type EpochBudgetRule } from './epochBudget.js';
import { StageClock } from './stages.js';
import { initBackend, tf } from './backend.js';
import {
  activityScale,
  HIDDEN_UNITS,
  implicitHidden,
  implicitVisible,
  initImplicitParams,
  medianActivityOf,
  type HiddenUnits,
  type ImplicitParams,
} from './implicitParams.js';
import { denseProduct, expWeights, gatherColumns, leaveOneOutHidden, leaveOneOutHiddenScaled, operandScratch } from './leaveOneOut.js';
import { sigmoid, transposeMatrix } from './params.js';
import { QuantizedWatchBounds, watchOfLogit } from './watchBounds.js';
import {
  denseLogits,
  IMPLICIT_ESTIMATORS,
  implicitParamsOfCheckpoint,
  negativePhaseFor,
  trainImplicitRbm,
  type ImplicitEngine,
  type NegativePhase,
  type ImplicitTrainHooks,
  type ImplicitTrainOptions,
  type RatedRows,
} from './implicitTrain.js';

export { sigmoidUpperBounds, watchOfLogit } from './watchBounds.js';

export interface ImplicitRbmOptions extends ImplicitTrainOptions {
  seed: number;
  /**
   * Binary hidden units, or Gaussian ones of unit variance (implicitParams.ts): with Gaussian units the
   * hidden means are linear in the rated set, and CD runs on the means (mean field). Models stored without
   * the field have binary units.
   */
  hiddenUnits: HiddenUnits;
  /** Fraction of each user's training ratings held out for early stopping. */
  validationFraction: number;
  /**
   * Scale each user's hidden input by their activity, x = c + √(n_med / n_u) Σ_{rated} W_i
   * (implicitParams.ts activityScale), in training and fold-in alike. Models stored without the field
   * did not scale.
   */
  activityScaling: boolean;
  /** a of the activity scale s(n) = (n_med / n)^a (implicitParams.ts activityScale). Stored before it: ½. */
  activityExponent: number;
  /** Cap the epochs by the data's size (epochBudget); false: `epochs` as given. */
  scaleEpochs: boolean;
  /**
   * E: independently trained RBMs (seeds seed, seed + 1, …, each with its own validation slice and
   * early stopping) whose visible logits are averaged, z̄_i = (1/E) Σ_e z_i^e. Stored as one RBM of E·F
   * hidden units with visible scale 1/E (the hidden units of different members never mix), so scoring
   * costs E times one member's. Trained where the negative phase is dense (ensembleFor); a large catalog
   * trains one. Models stored without the field have one.
   */
  members: number;
  /**
   * P more members trained by pseudo-likelihood (implicitTrain.ts ImplicitEstimator 'pl': every item's
   * exact conditional given the others, Σ_i log p(v_i | v_−i)) instead of CD-1, with seeds seed + E, …,
   * and rate `plLr`; joined with the E CD members like any ensemble (logits averaged). The two estimators
   * fit the same model differently and their mean ranks better than either (docs/ranking.md). They train
   * only where pseudo-likelihood runs (ensembleFor: Gaussian units and a dense negative phase, so not on
   * catalogs of SAMPLED_FROM_ITEMS items or more): elsewhere the model keeps its CD member alone and
   * stores plMembers 0.
   * Models stored without the field have none.
   */
  plMembers: number;
  /** ε of the pseudo-likelihood members (their gradient's scale differs from CD's). */
  plLr: number;
  /**
   * After training with the validation slice, train again from a fresh start on every training rating
   * (the slice included) for the best epoch count the slice chose, and keep that model: the slice still
   * chooses the epochs per data set and records the validation curve, but the kept model has learned from
   * all the ratings, as EASE^R and implicit ALS refit after their tuning. Costs the best epoch count again
   * (without the per-epoch validation). Models stored without the field did not refit.
   */
  refit: boolean;
}

/**
 * Chosen on validation carved from the training part of ML-100K, full and restricted to 35 % of its users
 * (`npm run tune --seeds`; the grids and figures are in docs/ranking.md): Gaussian hidden units with
 * strong weight decay, a rate annealed by a half cosine over the epoch budget, the activity-scaled hidden
 * input, and every training rating trained on (no slice held out: with the cosine the last epoch is the
 * one kept, so a slice would only cost data). The epoch count was chosen there too; epochBudget caps it
 * for large catalogs. The ensemble, two CD and two pseudo-likelihood members, ranked highest on both
 * shapes' mean; large catalogs train one CD member (ensembleFor).
 */
export const DEFAULT_IMPLICIT_OPTIONS: ImplicitRbmOptions = {
  hidden: 160,
  hiddenUnits: 'gaussian',
  epochs: 60,
  lr: 0.005,
  lrCosine: true,
  momentum: 0.9,
  initialMomentum: 0.5,
  momentumFromEpoch: 5,
  weightDecay: 0.1,
  batchSize: 100,
  cdSteps: 1,
  patience: 60,
  initScale: 0.01,
  engine: 'shared',
  zeroSamples: 200,
  negativePhase: 'auto',
  negativeSamples: 2000,
  threads: 1,
  rankCutoff: 10,
  validationUsers: 5000,
  seed: 0,
  validationFraction: 0,
  activityScaling: true,
  activityExponent: 0.7,
  scaleEpochs: true,
  members: 2,
  plMembers: 2,
  plLr: 0.01,
  refit: false,
};

/**
 * The implicit RBM's epoch budget (rule in epochBudget.ts; with `scaleEpochs`): ML-100K (943 users, 10
 * batches of 100) and smaller keep the 60 epochs chosen on validation; from about 6,000 users on (ML-1M's
 * size), training runs 10 epochs, every user still visited 10 times. See docs/performance.md for the
 * validation curves behind it.
 */
export const IMPLICIT_EPOCH_BUDGET: EpochBudgetRule = { updates: 600, minEpochs: 10 };

export function epochBudget(options: Pick<ImplicitRbmOptions, 'epochs' | 'batchSize' | 'scaleEpochs'>, users: number): number {
  return options.scaleEpochs ? scaledEpochs(options.epochs, users, options.batchSize, IMPLICIT_EPOCH_BUDGET) : options.epochs;
}

/** What options a stored model that predates a field had: the behaviour before the field existed. */
const STORED_WITHOUT: Pick<
  ImplicitRbmOptions,
  'activityScaling' | 'members' | 'plMembers' | 'refit' | 'lrCosine' | 'engine' | 'scaleEpochs' | 'hiddenUnits' | 'activityExponent'
> = {
  activityExponent: 0.5,
  hiddenUnits: 'binary',
  activityScaling: false,
  scaleEpochs: false,
  members: 1,
  plMembers: 0,
  refit: false,
  lrCosine: false,
  engine: 'tfjs',
};

/** A stored model's options with every field it predates set as it was then (model/watchLike.ts reads with it). */
export const STORED_IMPLICIT_DEFAULTS: ImplicitRbmOptions = { ...DEFAULT_IMPLICIT_OPTIONS, ...STORED_WITHOUT };

const ENGINES: readonly ImplicitEngine[] = ['shared', 'tfjs', 'js', 'sampled'];
const NEGATIVE_PHASES: readonly NegativePhase[] = ['auto', 'dense', 'sampled'];

/** Merges `input` onto the defaults and checks every field, naming the first bad one. */
export function validateImplicitOptions(input: Partial<ImplicitRbmOptions> = {}): ImplicitRbmOptions {
  const o: ImplicitRbmOptions = { ...DEFAULT_IMPLICIT_OPTIONS, ...input };
  const fail = (field: string, expected: string): never => {
    throw new RangeError(`implicit RBM option ${field} must be ${expected}, got ${JSON.stringify(Reflect.get(o, field))}`);
  };
  const positiveInt = (
    field:
      | 'hidden'
      | 'epochs'
      | 'batchSize'
      | 'cdSteps'
      | 'patience'
      | 'rankCutoff'
      | 'momentumFromEpoch'
      | 'validationUsers'
      | 'members'
      | 'negativeSamples'
      | 'threads',
  ): void => {
    if (!Number.isInteger(o[field]) || o[field] <= 0) fail(field, 'a positive integer');
  };
  (
    [
      'hidden',
      'epochs',
      'batchSize',
      'cdSteps',
      'patience',
      'rankCutoff',
      'momentumFromEpoch',
      'validationUsers',
      'members',
      'negativeSamples',
      'threads',
    ] as const
  ).forEach(positiveInt);
  if (o.threads > 256) fail('threads', 'an integer from 1 to 256');
  if (!NEGATIVE_PHASES.includes(o.negativePhase)) fail('negativePhase', `one of ${NEGATIVE_PHASES.map((e) => `"${e}"`).join(', ')}`);
  if (!HIDDEN_UNITS.includes(o.hiddenUnits)) fail('hiddenUnits', `one of ${HIDDEN_UNITS.map((e) => `"${e}"`).join(', ')}`);
  // The tfjs engine (and CD-T > 1, which runs on it) squashes the hidden side with σ in its products.
  if (o.hiddenUnits === 'gaussian' && (o.engine === 'tfjs' || o.cdSteps !== 1)) {
    fail(
      'hiddenUnits',
      `"binary" with engine "tfjs" or cdSteps > 1 (Gaussian units train with CD-1 on the "shared", "js" or "sampled" engine)`,
    );
  }
  if (o.estimator !== undefined && !IMPLICIT_ESTIMATORS.includes(o.estimator)) {
    fail('estimator', `one of ${IMPLICIT_ESTIMATORS.map((e) => `"${e}"`).join(', ')}`);
  }
  if (!Number.isInteger(o.plMembers) || o.plMembers < 0) fail('plMembers', 'a non-negative integer');
  if (!(o.plLr > 0 && Number.isFinite(o.plLr))) fail('plLr', 'a positive number');
  if (typeof o.activityScaling !== 'boolean') fail('activityScaling', 'true or false');
  if (!(o.activityExponent > 0 && o.activityExponent <= 2)) fail('activityExponent', 'a number in (0, 2]');
  if (typeof o.lrCosine !== 'boolean') fail('lrCosine', 'true or false');
  if (typeof o.scaleEpochs !== 'boolean') fail('scaleEpochs', 'true or false');
  if (typeof o.refit !== 'boolean') fail('refit', 'true or false');
  if (!(o.lr > 0 && Number.isFinite(o.lr))) fail('lr', 'a positive number');
  if (!(o.momentum >= 0 && o.momentum < 1)) fail('momentum', 'in [0, 1)');
  if (!(o.initialMomentum >= 0 && o.initialMomentum < 1)) fail('initialMomentum', 'in [0, 1)');
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) fail('weightDecay', 'a non-negative number');
  if (!(o.initScale > 0 && Number.isFinite(o.initScale))) fail('initScale', 'a positive number');
  if (!ENGINES.includes(o.engine)) fail('engine', `one of ${ENGINES.map((e) => `"${e}"`).join(', ')}`);
  if (!Number.isInteger(o.zeroSamples) || o.zeroSamples < 1) fail('zeroSamples', 'a positive integer');
  if (!Number.isInteger(o.seed) || o.seed < 0) fail('seed', 'a non-negative integer');
  if (!(o.validationFraction >= 0 && o.validationFraction < 0.5)) fail('validationFraction', 'in [0, 0.5)');
  return o;
}

/**
 * Each user's distinct rated items, sorted, as compressed rows (users × items): a counting sort of the
 * ratings by user, then each row sorted and its repeats dropped, in typed arrays (no per-user lists: at
 * MovieLens 25M's size these were tens of seconds of the training's setup).
 */
export function ratedRows(ds: Dataset): RatedRows {
  const U = ds.userIds.length;
  const counts = new Int32Array(U + 1);
  for (let r = 0; r < ds.users.length; r++) counts[ds.users[r] + 1]++;
  for (let u = 0; u < U; u++) counts[u + 1] += counts[u];
  const fill = counts.slice(0, U);
  const all = new Int32Array(ds.users.length);
  for (let r = 0; r < ds.users.length; r++) all[fill[ds.users[r]]++] = ds.items[r];
  // Sort each row, then compact it in place to its distinct items.
  const rowStart = new Int32Array(U + 1);
  let at = 0;
  for (let u = 0; u < U; u++) {
    const row = sortedRow(all.subarray(counts[u], counts[u + 1]));
    for (let n = 0; n < row.length; n++) if (n === 0 || row[n] !== row[n - 1]) all[at++] = row[n];
    rowStart[u + 1] = at;
  }
  return { rows: U, cols: ds.itemIds.length, rowStart, colIndex: all.slice(0, at) };
}

/** a sorted in place, left alone when it already is (the store loads a user's ratings by item): the same array. */
function sortedRow(a: Int32Array): Int32Array {
  for (let n = 1; n < a.length; n++) if (a[n] < a[n - 1]) return a.sort();
  return a;
}

export function rowsFromLists(lists: readonly (readonly number[])[], items: number): RatedRows {
  const rowStart = new Int32Array(lists.length + 1);
  const distinct = lists.map((l) => [...new Set(l)].sort((a, b) => a - b));
  distinct.forEach((l, u) => (rowStart[u + 1] = rowStart[u] + l.length));
  const colIndex = new Int32Array(rowStart[lists.length]);
  distinct.forEach((l, u) => colIndex.set(l, rowStart[u]));
  return { rows: lists.length, cols: items, rowStart, colIndex };
}

/**
 * Per-user validation slice: round(fraction · n_u) of each user's rated items, chosen by a seeded shuffle,
 * never all of them (a user keeps at least one fit item, so their held-out items can be scored). Both
 * parts keep each row sorted. `rows` holds distinct items per row (as ratedRows gives them).
 */
export function carveValidation(rows: RatedRows, fraction: number, rng: Rng): { fit: RatedRows; validation: RatedRows } {
  const U = rows.rows;
  const heldOf = (u: number): number => {
    const n = rows.rowStart[u + 1] - rows.rowStart[u];
    return Math.min(Math.round(fraction * n), Math.max(0, n - 1));
  };
  const fitStart = new Int32Array(U + 1);
  const valStart = new Int32Array(U + 1);
  for (let u = 0; u < U; u++) {
    const held = heldOf(u);
    valStart[u + 1] = valStart[u] + held;
    fitStart[u + 1] = fitStart[u] + (rows.rowStart[u + 1] - rows.rowStart[u] - held);
  }
  if (valStart[U] === 0) {
    // Nothing held out (fraction 0, the default, or rows too short): the fit part is the rows, each
    // sorted, and each row's shuffle only advances the stream by its n − 1 draws (Fisher–Yates, one
    // uniform a swap), which are jumped over at once (xoshiroJump): the same parts and the same stream
    // afterwards as the loop below, without its 25M draws and per-row sorts at MovieLens 25M's size.
    const colIndex = rows.colIndex.slice(0, fitStart[U]);
    let draws = 0;
    for (let u = 0; u < U; u++) {
      const n = rows.rowStart[u + 1] - rows.rowStart[u];
      if (n > 1) draws += n - 1;
      sortedRow(colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1]));
    }
    rng.setState(xoshiroJump(rng.getState(), BigInt(draws)));
    return {
      fit: { rows: U, cols: rows.cols, rowStart: fitStart, colIndex },
      validation: { rows: U, cols: rows.cols, rowStart: valStart, colIndex: new Int32Array(0) },
    };
  }
  const fitIndex = new Int32Array(fitStart[U]);
  const valIndex = new Int32Array(valStart[U]);
  let order = new Int32Array(0);
  for (let u = 0; u < U; u++) {
    const s = rows.rowStart[u];
    const n = rows.rowStart[u + 1] - s;
    if (order.length < n) order = new Int32Array(Math.max(n, 2 * order.length));
    const o = order.subarray(0, n);
    for (let m = 0; m < n; m++) o[m] = m;
    rng.shuffle(o);
    const held = heldOf(u);
    const v = valIndex.subarray(valStart[u], valStart[u + 1]);
    const f = fitIndex.subarray(fitStart[u], fitStart[u + 1]);
    for (let m = 0; m < held; m++) v[m] = rows.colIndex[s + o[m]];
    for (let m = held; m < n; m++) f[m - held] = rows.colIndex[s + o[m]];
    v.sort();
    f.sort();
  }
  return {
    fit: { rows: U, cols: rows.cols, rowStart: fitStart, colIndex: fitIndex },
    validation: { rows: U, cols: rows.cols, rowStart: valStart, colIndex: valIndex },
  };
}

export interface ImplicitTraining {
  epochs: number;
  bestEpoch: number;
  bestValidationNdcg: number | null;
  seconds: number;
  curve: EpochReport[];
  /** Wall seconds of the training's stages (rbm/stages.ts): the rows and slice, then the training. */
  stages?: Record<string, number>;
  /** Per member of an ensemble (members > 1): its epochs, best epoch and best validation nDCG. */
  members?: { epochs: number; bestEpoch: number; bestValidationNdcg: number | null }[];
}

/**
 * Fits the implicit RBM on `train`: carves the per-user validation slice (seeded), trains on the rest
 * with early stopping by validation nDCG@k, and keeps the best epoch's parameters. Visible biases start
 * at the items' log-odds of being rated among the fit ratings. Same seed and data → identical parameters.
 * With `members` E > 1, trains E such RBMs with seeds seed … seed + E − 1 and joins them (joinMembers).
 * Checkpoint hooks apply to the first member only (the others retrain, deterministically, on resume).
 */
export async function fitImplicitRbm(
  train: Dataset,
  input: Partial<ImplicitRbmOptions> = {},
  onEpoch?: (report: EpochReport) => void,
  hooks: ImplicitTrainHooks = {},
): Promise<ImplicitRbm> {
  const options = validateImplicitOptions(input);
  await initBackend();
  const clock = new StageClock();
  const all = clock.time('implicit rows', () => ratedRows(train));
  // n_med of the whole training part: the users folded in at serving time bring all their training items.
  const medianActivity = options.activityScaling ? medianActivityOf(all.rowStart) : 0;
  const members: { params: ImplicitParams; training: ImplicitTraining }[] = [];
  const ensemble = ensembleFor(options, all.cols);
  for (let e = 0; e < ensemble.members; e++) {
    const report = memberEpochs(onEpoch, e, ensemble.members);
    members.push(await fitMember(all, options, options.seed + e, medianActivity, clock, report, e === 0 ? hooks : {}));
  }
  const pl: ImplicitRbmOptions = { ...options, lr: options.plLr, estimator: 'pl' };
  for (let e = 0; e < ensemble.plMembers; e++) {
    const report = memberEpochs(onEpoch, e, ensemble.plMembers);
    members.push(await fitMember(all, pl, options.seed + ensemble.members + e, medianActivity, clock, report, {}));
  }
  const kept: ImplicitRbmOptions = { ...options, ...ensemble };
  if (members.length === 1) return new ImplicitRbm(members[0].params, kept, { ...members[0].training, stages: clock.seconds });
  const t = members.map((m) => m.training);
  const ndcgs = t.map((m) => m.bestValidationNdcg).filter((x): x is number => x !== null);
  return new ImplicitRbm(joinMembers(members.map((m) => m.params)), kept, {
    epochs: t.reduce((s, m) => s + m.epochs, 0),
    bestEpoch: Math.max(...t.map((m) => m.bestEpoch)),
    bestValidationNdcg: ndcgs.length === t.length ? ndcgs.reduce((s, x) => s + x, 0) / ndcgs.length : null,
    seconds: t.reduce((s, m) => s + m.seconds, 0),
    curve: t.flatMap((m) => m.curve),
    members: t.map((m) => ({ epochs: m.epochs, bestEpoch: m.bestEpoch, bestValidationNdcg: m.bestValidationNdcg })),
    stages: clock.seconds,
  });
}

async function fitMember(
  all: RatedRows,
  options: ImplicitRbmOptions,
  seed: number,
  medianActivity: number,
  clock: StageClock,
  onEpoch: ((report: EpochReport) => void) | undefined,
  hooks: ImplicitTrainHooks,
): Promise<{ params: ImplicitParams; training: ImplicitTraining }> {
  const rng = new Rng(seed);
  const endSlice = clock.start('implicit slice');
  const { fit, validation } = carveValidation(all, options.validationFraction, rng);
  const counts = new Float64Array(fit.cols);
  for (let n = 0; n < fit.colIndex.length; n++) counts[fit.colIndex[n]]++;
  const resume = hooks.resumeFrom;
  const start = resume
    ? implicitParamsOfCheckpoint(resume, fit.cols, options.hidden)
    : initImplicitParams(counts, fit.rows, options.hidden, rng, options.initScale);
  const params: ImplicitParams = { ...start, ...withKind(options, medianActivity) };
  const hasValidation = validation.colIndex.length > 0;
  // A resumed run draws its shuffles and samples from a stream of its own (as the rating RBMs' do).
  const trainRng = resume ? new Rng((seed + Math.imul(0x9e3779b1, resume.epoch)) >>> 0) : rng;
  const budget = epochBudget(options, fit.rows);
  const budgeted = { ...options, epochs: budget, patience: Math.min(options.patience, budget) };
  endSlice();
  const result = await clock.timeAsync('implicit', () =>
    trainImplicitRbm(params, fit, hasValidation ? validation : null, budgeted, trainRng, onEpoch, hooks),
  );
  const training: ImplicitTraining = {
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    bestValidationNdcg: result.bestNdcg,
    seconds: result.seconds,
    curve: result.curve,
  };
  if (!options.refit || !hasValidation) return { params: result.params, training };
  // The refit: a fresh start on every rating for the chosen epoch count, no validation (nothing is held
  // out to measure), its own seeded stream. Its epochs are not added to the curve, which stays the
  // validated run's; `epochs` and `seconds` count both runs.
  const refitRng = new Rng((seed + 0x5bd1e995) >>> 0);
  const allCounts = new Float64Array(all.cols);
  for (let n = 0; n < all.colIndex.length; n++) allCounts[all.colIndex[n]]++;
  const fresh = initImplicitParams(allCounts, all.rows, options.hidden, refitRng, options.initScale);
  const epochs = result.bestEpoch;
  const refit = await trainImplicitRbm(
    { ...fresh, ...withKind(options, medianActivity) },
    all,
    null,
    { ...options, epochs, patience: epochs },
    refitRng,
  );
  return {
    params: refit.params,
    training: { ...training, epochs: training.epochs + refit.epochs, seconds: training.seconds + refit.seconds },
  };
}

/**
 * The epoch reports of member k (0-based) of `count` members of one kind (one phase), which train one after
 * the other: numbered on from the members before it, epoch + k · budget of count · budget, so the phase's
 * progress and ETA, and its learning curve, cover all of its members (the first member's are its own).
 */
function memberEpochs(
  onEpoch: ((report: EpochReport) => void) | undefined,
  k: number,
  count: number,
): ((report: EpochReport) => void) | undefined {
  if (!onEpoch || count === 1) return onEpoch;
  return (r) => {
    const budget = r.maxEpochs ?? 0;
    onEpoch({ ...r, epoch: r.epoch + k * budget, ...(r.maxEpochs === undefined ? {} : { maxEpochs: count * budget }) });
  };
}

/**
 * The ensemble a fit trains on a catalog of `items` items. Where the negative phase is dense (engine 'js',
 * or 'shared' below SAMPLED_FROM_ITEMS items): options.members CD members, and options.plMembers
 * pseudo-likelihood members where those can run (Gaussian units, CD-1), else none. Where it is sampled (a
 * large catalog, or engine 'sampled'): one CD member and no pseudo-likelihood one, whatever the options
 * say: pseudo-likelihood needs every item's conditional, and there each member's epochs are most of the
 * training's wall time (issue 21), which an ensemble would multiply. The fitted model stores the counts it
 * trained, so its options say what it is.
 */
export function ensembleFor(options: ImplicitRbmOptions, items: number): { members: number; plMembers: number } {
  const dense = options.engine === 'js' || (options.engine === 'shared' && negativePhaseFor(options, items) === 'dense');
  if (!dense) return { members: 1, plMembers: 0 };
  return { members: options.members, plMembers: options.hiddenUnits === 'gaussian' && options.cdSteps === 1 ? options.plMembers : 0 };
}

/** The optional fields of ImplicitParams a fit sets: Gaussian units, n_med and its exponent, each only when in use. */
function withKind(
  o: { hiddenUnits?: HiddenUnits; activityExponent?: number },
  medianActivity: number,
): Pick<ImplicitParams, 'hiddenUnits' | 'medianActivity' | 'activityExponent'> {
  const a = o.activityExponent ?? 0.5;
  return {
    ...(o.hiddenUnits === 'gaussian' ? { hiddenUnits: o.hiddenUnits } : {}),
    ...(medianActivity > 0 ? { medianActivity } : {}),
    ...(medianActivity > 0 && a !== 0.5 ? { activityExponent: a } : {}),
  };
}

/**
 * E member RBMs (same items, F hidden units each, same n_med) as one RBM of E·F hidden units whose
 * visible logits are the mean of the members':
 *   W = [W¹ … W^E] (I × E·F),  c = [c¹ … c^E],  b = (1/E) Σ_e b^e,  visible scale a = 1/E,
 *   z_i = b_i + a Σ_{e,j} p̂^e_j W^e[i,j] = (1/E) Σ_e (b^e_i + Σ_j p̂^e_j W^e[i,j])
 * since member e's hidden units see only its own weights: p̂^e = σ(c^e + s(n) Σ_rated W^e_r).
 */
export function joinMembers(members: readonly ImplicitParams[]): ImplicitParams {
  const E = members.length;
  const { items: I, hidden: F } = members[0];
  const H = E * F;
  const W = new Float32Array(I * H);
  const c = new Float32Array(H);
  const bSum = new Float64Array(I);
  members.forEach((m, e) => {
    if (m.items !== I || m.hidden !== F) throw new RangeError(`ensemble member ${e} is ${m.items} × ${m.hidden}, expected ${I} × ${F}`);
    for (let i = 0; i < I; i++) W.set(m.W.subarray(i * F, (i + 1) * F), i * H + e * F);
    c.set(m.c, e * F);
    for (let i = 0; i < I; i++) bSum[i] += m.b[i];
  });
  const b = Float32Array.from(bSum, (x) => x / E);
  const { medianActivity } = members[0];
  return { items: I, hidden: H, W, b, c, visibleScale: 1 / E, ...withKind(members[0], medianActivity ?? 0) };
}

/** What `toState` writes: tensors by name plus a JSON-able config. */
export interface ImplicitRbmState {
  config: {
    kind: 'implicit-rbm';
    items: number;
    /** Hidden units in all: E · options.hidden for an ensemble of E members. */
    hidden: number;
    options: ImplicitRbmOptions;
    training: ImplicitTraining | null;
    /** n_med of the activity scale; absent: no scaling. */
    medianActivity?: number;
  };
  tensors: Record<string, Float32Array>;
}

export class ImplicitRbm {
  private dense: { Wt: tf.Tensor2D; b: tf.Tensor2D } | null = null;
  /** e^{W}, tabulated on the first `because` (rbm/leaveOneOut.ts). */
  private expW: Float32Array | null = null;
  /** The 8-bit copy of W for the bounds of p(watch) (watchBounds), made on first use; null: none can be. */
  private quantized: QuantizedWatchBounds | null | undefined = undefined;

  constructor(
    readonly params: ImplicitParams,
    readonly options: ImplicitRbmOptions,
    readonly training: ImplicitTraining | null = null,
  ) {}

  get itemCount(): number {
    return this.params.items;
  }

  /** p̂ = p(h | v) for a user who rated `items`. */
  hiddenProbabilities(items: ArrayLike<number>): Float32Array {
    const list = this.checkItems(items, 'user');
    return implicitHidden(this.params, list, 0, list.length, new Float32Array(this.params.hidden));
  }

  /** p(v_i = 1 | p̂) for every item i, one user, in typed-array loops (the reference of the block path). */
  watchProbabilities(items: ArrayLike<number>): Float32Array {
    return implicitVisible(this.params, this.hiddenProbabilities(items), new Float32Array(this.params.items));
  }

  /**
   * p(v_i = 1 | p̂_u) for every item and each user of the block (users given as rated-item lists), in
   * order: σ(P̂ (B×F) · Wᵀ (F×I) + b) as one tfjs product per `blockSize` users. Needs the tfjs backend
   * initialised (fitImplicitRbm does it; otherwise await initBackend() first).
   */
  watchProbabilitiesBlock(users: readonly ArrayLike<number>[], blockSize = 256): Float32Array[] {
    const I = this.params.items;
    return this.watchLogitsBlock(users, blockSize).map((z) => {
      const row = new Float32Array(I);
      for (let i = 0; i < I; i++) row[i] = watchOfLogit(z[i]);
      return row;
    });
  }

  /**
   * The logits z_i = b_i + a Σ_j p̂_j W[i,j] behind watchProbabilitiesBlock (a the visible scale, 1/E of an
   * ensemble, folded into P̂), every item and each user of the block (rows are views into one array per
   * block of `blockSize` users): p(watch_i) = watchOfLogit(z_i).
   */
  watchLogitsBlock(users: readonly ArrayLike<number>[], blockSize = 256): Float32Array[] {
    return this.watchLogitsAndHidden(users, blockSize).logits;
  }

  /**
   * watchLogitsBlock's logits, and each user's row of P̂ they came from (a p̂, F values; views into one
   * array per block), from which logitsOfItems recomputes chosen logits.
   */
  watchLogitsAndHidden(users: readonly ArrayLike<number>[], blockSize = 256): { logits: Float32Array[]; hidden: Float32Array[] } {
    const I = this.params.items;
    const { Wt, b } = this.denseTensors();
    const logits: Float32Array[] = [];
    const hidden: Float32Array[] = [];
    for (let from = 0; from < users.length; from += blockSize) {
      const block = users.slice(from, from + blockSize);
      const rows = this.watchHidden(block, from);
      const z = denseLogits(Wt, b, rows.P, block.length);
      for (let n = 0; n < block.length; n++) logits.push(z.subarray(n * I, (n + 1) * I));
      hidden.push(...rows.hidden);
    }
    return { logits, hidden };
  }

  /**
   * Each user's row of P̂ as the logits' product takes it, a p̂ (F values, the visible scale a folded in):
   * rows of one B × F array P, and views of them. `first` numbers the users in messages.
   */
  watchHidden(users: readonly ArrayLike<number>[], first = 0): { P: Float32Array; hidden: Float32Array[] } {
    const F = this.params.hidden;
    const a = this.params.visibleScale ?? 1;
    const P = new Float32Array(users.length * F);
    const h = new Float32Array(F);
    users.forEach((items, n) => {
      const list = this.checkItems(items, `user #${first + n}`);
      implicitHidden(this.params, list, 0, list.length, h);
      if (a !== 1) for (let j = 0; j < F; j++) h[j] *= a;
      P.set(h, n * F);
    });
    return { P, hidden: users.map((_, n) => P.subarray(n * F, (n + 1) * F)) };
  }

  /**
   * The 8-bit copy of W that bounds every item's fround(p(watch)) for a row of P̂ (watchHidden;
   * rbm/watchBounds.ts), made on the first call: the pruned top-k's bound without the float32 product.
   * null when the parameters are not all finite (then no bound is derived; the product's logits serve).
   */
  watchBounds(): QuantizedWatchBounds | null {
    if (this.quantized === undefined) {
      const { W, b, c, items, hidden } = this.params;
      this.quantized = c.every((x) => Number.isFinite(x)) ? QuantizedWatchBounds.of(W, b, items, hidden) : null;
    }
    return this.quantized;
  }

  /**
   * The logits z_i = b_i + Σ_j p̂_j W[i,j] of chosen items from a row of P̂ (watchLogitsAndHidden), in the
   * float32 arithmetic of the block product on the wasm backend: each product and partial sum rounded to
   * float32, in order of j (XNNPACK's GEMM, no fused multiply-add), then b_i added and rounded. Bit for
   * bit the block product's entries there (test/rbm/implicit-bounds.test.ts); another backend may order
   * its sums otherwise, so callers use it on wasm only.
   */
  logitsOfItems(hidden: Float32Array, items: ArrayLike<number>): Float32Array {
    const { W, b, hidden: F } = this.params;
    this.checkItems(items, 'items to score');
    const out = new Float32Array(items.length);
    for (let q = 0; q < items.length; q++) {
      const at = items[q] * F;
      let acc = 0;
      for (let j = 0; j < F; j++) acc = Math.fround(acc + Math.fround(hidden[j] * W[at + j]));
      out[q] = Math.fround(acc + b[items[q]]);
    }
    return out;
  }

  /**
   * p(watch) of each candidate from all the rated items, and with each rated item left out in turn, for
   * `because` (model/explain.ts). The hidden input is a sum over the rated items, so leaving item r_n out
   * subtracts its row and nothing is refitted (rbm/leaveOneOut.ts); with the activity scale s(n) the n − 1
   * remaining items get their own scale s(n − 1), as a user who rated them would:
   *   x = Σ_{rated} W_r,   p̂ = σ(c + s(n) x),               p(watch_i)    = σ(b_i + a Σ_j p̂_j W[i,j])
   *   p̂'_n = σ(c + s(n − 1) (x − W_{r_n})),                 p(watch_i)'_n = σ(b_i + a Σ_j p̂'_{n,j} W[i,j])
   * exactly what watchProbabilities gives for the ratings without r_n (up to float32 rounding); a is the
   * visible scale (1/E of an ensemble). One dense product of (n+1) × F by F × m for n rated items and m
   * candidates. Gaussian hidden units (E[h | x] = x, linear) need no (n+1) × F matrix of hidden means:
   * with G[n, i] = W_{r_n} · W_i (one product of the rated rows, n × F, by the candidates' columns) and
   * S_i = Σ_n G[n, i] = x · W_i,
   *   z_i    = b_i + a (c · W_i + s(n) S_i),   z'_{n,i} = b_i + a (c · W_i + s(n − 1) (S_i − G[n, i]))
   * the same numbers up to rounding, with the rated rows copied as they are instead of an (n+1) × F matrix
   * computed entry by entry (which cost as much as the rest of `because` for a user with a thousand
   * ratings).
   *
   * @returns full[c] for candidate c; without[n · m + c] with rated item n left out.
   */
  watchWithout(rated: ArrayLike<number>, candidates: ArrayLike<number>): { full: Float64Array; without: Float64Array } {
    const list = this.checkItems(rated, 'user');
    this.checkItems(candidates, 'items to explain');
    const { W, b, c, hidden: F } = this.params;
    const a = this.params.visibleScale ?? 1;
    const n = list.length;
    const m = candidates.length;
    const full = new Float64Array(m);
    const without = new Float64Array(n * m);
    if (m === 0) return { full, without };
    if (this.params.hiddenUnits === 'gaussian') {
      const sFull = activityScale(this.params, n);
      const sLess = activityScale(this.params, n - 1);
      const rows = operandScratch(0, n * F);
      for (let t = 0; t < n; t++) rows.set(W.subarray(list[t] * F, (list[t] + 1) * F), t * F);
      const G = n > 0 ? denseProduct(rows, n, F, gatherColumns(W, F, candidates, operandScratch(1, F * m)), m) : new Float32Array(0);
      for (let q = 0; q < m; q++) {
        const at = candidates[q] * F;
        let cw = 0;
        for (let j = 0; j < F; j++) cw += c[j] * W[at + j];
        let S = 0;
        for (let t = 0; t < n; t++) S += G[t * m + q];
        full[q] = sigmoid(b[candidates[q]] + a * (cw + sFull * S));
        for (let t = 0; t < n; t++) without[t * m + q] = sigmoid(b[candidates[q]] + a * (cw + sLess * (S - G[t * m + q])));
      }
      return { full, without };
    }
    let P: Float32Array;
    if ((this.params.medianActivity ?? 0) > 0) {
      const sFull = activityScale(this.params, n);
      P = leaveOneOutHiddenScaled(W, c, list, sFull, activityScale(this.params, n - 1), this.params.hiddenUnits);
    } else {
      this.expW ??= expWeights(W);
      P = leaveOneOutHidden(W, this.expW, c, list, operandScratch(0, (n + 1) * F));
    }
    if (a !== 1) for (let x = 0; x < P.length; x++) P[x] *= a;
    const z = denseProduct(P, n + 1, F, gatherColumns(W, F, candidates, operandScratch(1, F * m)), m);
    for (let q = 0; q < m; q++) full[q] = sigmoid(z[q] + b[candidates[q]]);
    for (let t = 0; t < n; t++) for (let q = 0; q < m; q++) without[t * m + q] = sigmoid(z[(t + 1) * m + q] + b[candidates[q]]);
    return { full, without };
  }

  toState(): ImplicitRbmState {
    const { W, b, c, items, hidden } = this.params;
    return {
      config: {
        kind: 'implicit-rbm',
        items,
        hidden,
        options: { ...this.options },
        training: this.training,
        ...(this.params.medianActivity ? { medianActivity: this.params.medianActivity } : {}),
      },
      tensors: { 'implicit.W': W, 'implicit.b': b, 'implicit.c': c },
    };
  }

  static fromState(state: ImplicitRbmState): ImplicitRbm {
    const { config, tensors } = state;
    if (config.kind !== 'implicit-rbm') throw new Error(`model state kind is "${config.kind}", expected "implicit-rbm"`);
    const need = (name: string, length: number): Float32Array => {
      const t = tensors[name];
      if (!t) throw new Error(`implicit RBM state is missing tensor "${name}"`);
      if (t.length !== length) {
        throw new Error(
          `implicit RBM state tensor "${name}" has ${t.length} values, expected ${length} (${config.items} items × ${config.hidden} hidden)`,
        );
      }
      return t;
    };
    const options = validateImplicitOptions({ ...STORED_WITHOUT, ...config.options });
    const E = options.members + options.plMembers;
    if (options.hidden * E !== config.hidden) {
      throw new Error(
        `implicit RBM state has ${config.hidden} hidden units, expected ${E} member(s) × ${options.hidden} ((options.members + options.plMembers) × options.hidden)`,
      );
    }
    const median = config.medianActivity;
    if (median !== undefined && !(typeof median === 'number' && median > 0 && Number.isFinite(median))) {
      throw new Error(`implicit RBM state medianActivity must be a positive number, got ${JSON.stringify(median)}`);
    }
    const params: ImplicitParams = {
      items: config.items,
      hidden: config.hidden,
      W: need('implicit.W', config.items * config.hidden),
      b: need('implicit.b', config.items),
      c: need('implicit.c', config.hidden),
      ...(E > 1 ? { visibleScale: 1 / E } : {}),
      ...withKind(options, median ?? 0),
    };
    return new ImplicitRbm(params, options, config.training);
  }

  /** Frees the tfjs tensors of the block path. Idempotent; the model stays usable (they are re-created). */
  dispose(): void {
    this.dense?.Wt.dispose();
    this.dense?.b.dispose();
    this.dense = null;
    this.quantized = undefined;
  }

  private denseTensors(): { Wt: tf.Tensor2D; b: tf.Tensor2D } {
    const { W, b, items: I, hidden: F } = this.params;
    this.dense ??= { Wt: tf.tensor2d(transposeMatrix(W, I, F), [F, I]), b: tf.tensor2d(b, [1, I]) };
    return this.dense;
  }

  private checkItems(items: ArrayLike<number>, who: string): ArrayLike<number> {
    for (let n = 0; n < items.length; n++) {
      const i = items[n];
      if (!Number.isInteger(i) || i < 0 || i >= this.params.items) {
        throw new RangeError(`${who}: rated item index ${i} at position ${n} is outside the model's items 0 … ${this.params.items - 1}`);
      }
    }
    return items;
  }
}

/**
 * The lowest rating level that counts as "liked": the first level at or above three quarters of the way
 * up the scale (4 on 1–5 stars, 4 on 0.5–5 half stars), the threshold of the issue's relevance ≥ 4.
 */
export function likedLevelIndex(ratingLevels: readonly number[]): number {
  const lo = ratingLevels[0];
  const hi = ratingLevels[ratingLevels.length - 1];
  const at = ratingLevels.findIndex((v) => v >= lo + 0.75 * (hi - lo) - 1e-9);
  return at < 0 ? ratingLevels.length - 1 : at;
}

/** p(like)^γ from Σ_{k ≥ liked} p(k), clamped to 1 first (float rounding can take the sum just over). */
export function likeFactor(like: number, gamma: number): number {
  const p = Math.min(1, like);
  return gamma === 1 ? p : Math.pow(p, gamma);
}

/**
 * Ranking score of every item: the chance the user would watch it and like it,
 *   score_i = p(watch_i) · p(r_i ≥ liked | watch_i)^γ = p(v_i = 1 | p̂) · (Σ_{k ≥ liked} p(r_i = k))^γ
 * with p(watch) from the implicit RBM and the rating distribution (items × K, row-major) from the rating
 * model, which predicts a rating given that the item is watched. In [0, 1]. γ = 1 is the plain product;
 * a smaller γ leans on p(watch) (the exponent is chosen on validation: docs/ranking.md).
 */
export function watchAndLikeScores(watch: Float32Array, distribution: Float32Array, K: number, liked: number, gamma = 1): Float32Array {
  if (distribution.length !== watch.length * K) {
    throw new RangeError(`rating distribution has ${distribution.length} values, expected ${watch.length} items × ${K} levels`);
  }
  if (!Number.isInteger(liked) || liked < 0 || liked >= K)
    throw new RangeError(`liked level index must be an integer in [0, ${K - 1}], got ${liked}`);
  const out = new Float32Array(watch.length);
  for (let i = 0; i < watch.length; i++) {
    let like = 0;
    for (let k = liked; k < K; k++) like += distribution[i * K + k];
    out[i] = watch[i] * likeFactor(like, gamma);
  }
  return out;
}
