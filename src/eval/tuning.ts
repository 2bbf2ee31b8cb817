/**
 * Choosing the served ranking's settings on validation data only (issue 19): the test part of the split is
 * set aside untouched, a validation part is carved out of the training part the same way the split carved
 * the test part (by default the same fraction; `validationFraction` a smaller one, for a fit part nearer the
 * training part's size), and every grid point is fitted on the rest and measured on that validation part,
 * beside the baselines fitted on the same rest (and paired with them user by user). The
 * popularity prior of cold users is chosen the same way, on Given-N users held out of the training part.
 *
 *   data ──split(seed)──▶ training part ─┬─split(seed + 1)──▶ fit part + validation part   (the grid)
 *                         (test part: never read)   └─Given-N cold users(seed)──▶ warm + cold  (the prior)
 *
 * The rating blend (p(like)) does not depend on the implicit RBM's options, so it is fitted once per data
 * and every grid point reuses it. Pure: no I/O; progress goes through hooks.
 */
import { ratingCount, type Dataset } from '../data/dataset.js';
import { fitImplicitRbm, likedLevelIndex, validateImplicitOptions, type ImplicitRbmOptions } from '../rbm/implicit.js';
import { getAlgorithm } from '../model/algorithms.js';
import { itemRatingCounts, PopularModel } from '../model/popularity.js';
import { fitRbmBlend } from '../model/rbmFit.js';
import { DEFAULT_RANKING, ImplicitModel, WatchLikeModel } from '../model/watchLike.js';
import type { EpochReport } from '../rbm/train.js';
import { meanOverRuns, pairedDifference, type PairedDifference } from './paired.js';
import type { UserFigures } from './ranking.js';
import { evaluateOnFold, measureGivenN } from './runner.js';
import { givenNColdUsers, userStratified } from './splits.js';

/** One grid point: implicit RBM options over the defaults. */
/**
 * A grid point: implicit RBM options, and optionally watch-like's like exponent γ (the ranking score
 * p(watch) · p(like)^γ, model/watchLike.ts), which is not an RBM option but is chosen the same way.
 */
export type GridPoint = Partial<ImplicitRbmOptions> & { likeExponent?: number };

/** The grid point's implicit RBM options (without γ). */
function implicitPart(point: GridPoint): Partial<ImplicitRbmOptions> {
  const { likeExponent: _gamma, ...rest } = point;
  return rest;
}

export interface TuningSpec {
  /** Fraction of each user's ratings in the test part (set aside) and, by default, in the validation part. */
  testFraction: number;
  /**
   * Fraction of each user's training ratings in the validation part (default testFraction). A smaller one
   * leaves a fit part closer in size to the whole training part the served model is trained on, to see
   * whether a choice depends on how much data the model is given.
   */
  validationFraction?: number;
  /** Seeds the split (validation: seed + 1), the rating blend, the cold users, and by default the implicit RBM. */
  seed: number;
  /**
   * The implicit RBM's seeds: each grid point is trained once per seed and its figures are the means (the
   * spread is kept per seed). One training's validation nDCG@10 moves by about ±0.005 from seed to seed on
   * ML-100K, as much as most grid steps, so a choice between close points needs several. Default [seed].
   */
  seeds?: readonly number[];
  k: number;
  /**
   * Registered algorithms (e.g. ease, ials) fitted on the fit part and measured on the same validation
   * part, as yardsticks beside the grid (each tunes its own settings inside fit, on a slice of the fit part).
   */
  baselines?: readonly string[];
  grid: readonly GridPoint[];
  /** Options under every grid point (the served defaults, typically). */
  base: GridPoint;
  /** Cold-user prior n₀ values to try, and the Given-N protocol they are tried on (null: no cold tuning). */
  cold: { ns: readonly number[]; priors: readonly number[]; coldFraction: number } | null;
}

/** One training's validation figures. */
export interface GridFigures {
  /** watch-like's P@k and nDCG@k with every validation item relevant, and nDCG@k with rated ≥ liked. */
  precision: number;
  ndcg: number;
  ndcgLiked: number;
  /** p(watch) alone (the implicit RBM). */
  watchPrecision: number;
  watchNdcg: number;
}

/** A grid point's figures: the means over the implicit RBM's seeds, and each seed's. */
export interface GridRow extends GridFigures {
  point: GridPoint;
  perSeed: (GridFigures & { seed: number })[];
  /** Epochs trained and the best (kept) epoch, per member, seed after seed. */
  epochs: number[];
  bestEpochs: number[];
  /** Seconds to train one implicit RBM (the mean over the seeds). */
  seconds: number;
}

export interface ColdRow {
  prior: number;
  /** nDCG@k of watch-like per Given-N, in the order of spec.cold.ns. */
  ndcg: number[];
  precision: number[];
}

export interface TuningReport {
  users: number;
  items: number;
  validationUsers: number;
  /** Ratings in the fit part and in the validation part (their ratio follows validationFraction). */
  fitRatings: number;
  validationRatings: number;
  popular: { precision: number; ndcg: number; ndcgLiked: number };
  baselines: { name: string; precision: number; ndcg: number; ndcgLiked: number; seconds: number }[];
  rows: GridRow[];
  /** The row with the highest (mean) validation nDCG@k (all relevant); ties: the earlier row. */
  best: number;
  /**
   * The best row minus each baseline, paired over the validation users (all relevant; the row's per-user
   * figures are the means over its seeds): how far the validation lead is from one validation part's noise.
   */
  paired: ({ name: string } & PairedDifference)[];
  cold: { point: GridPoint; ns: number[]; popular: { ndcg: number[]; precision: number[] }; rows: ColdRow[]; best: number } | null;
}

export interface TuningHooks {
  onEpoch?: (where: string, report: EpochReport) => void;
  onRow?: (row: GridRow, index: number) => void;
  onStage?: (line: string) => void;
}

/** Every combination of the values, in order (the last key varies fastest). */
export function gridOf(values: Readonly<Record<string, readonly (number | boolean | string)[]>>): GridPoint[] {
  let points: Record<string, number | boolean | string>[] = [{}];
  for (const [key, list] of Object.entries(values)) {
    if (list.length === 0) throw new RangeError(`grid: ${key} has no values`);
    points = points.flatMap((p) => list.map((v) => ({ ...p, [key]: v })));
  }
  // Each point checked now, before hours of training: validateImplicitOptions names the bad field.
  return points.map((p) => {
    const keys = [...Object.keys(validateImplicitOptions()), 'likeExponent'];
    for (const key of Object.keys(p)) {
      if (!keys.includes(key)) throw new RangeError(`grid: "${key}" is not an implicit RBM option; expected one of ${keys.join(', ')}`);
    }
    const gamma = p.likeExponent;
    if (gamma !== undefined && !(typeof gamma === 'number' && gamma >= 0)) {
      throw new RangeError(`grid: likeExponent must be a non-negative number, got ${JSON.stringify(gamma)}`);
    }
    validateImplicitOptions(implicitPart(p as GridPoint));
    return p as GridPoint;
  });
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

export async function tuneRanking(data: Dataset, spec: TuningSpec, hooks: TuningHooks = {}): Promise<TuningReport> {
  if (spec.grid.length === 0) throw new RangeError('tuning needs at least one grid point');
  for (const name of spec.baselines ?? []) getAlgorithm(name);
  const seeds = spec.seeds ?? [spec.seed];
  if (seeds.length === 0) throw new RangeError('tuning needs at least one implicit RBM seed');
  const [outer] = userStratified(data, spec.testFraction, spec.seed);
  const training = outer.train;
  const [inner] = userStratified(training, spec.validationFraction ?? spec.testFraction, spec.seed + 1);
  const liked = likedLevelIndex(data.ratingLevels);
  const all = { k: spec.k, relevant: 'all' as const };
  const likedOnly = { k: spec.k, relevant: data.ratingLevels[liked] };

  hooks.onStage?.('fitting the rating blend (p(like)) on the fit part');
  const blend = (await fitRbmBlend(inner.train, { seed: spec.seed }, { onEpoch: (r) => hooks.onEpoch?.('blend', r) })).model;
  const popular = new PopularModel(inner.train, itemRatingCounts(inner.train));
  const popAll = evaluateOnFold(popular, inner.train, inner.test, all);
  const popLiked = evaluateOnFold(popular, inner.train, inner.test, likedOnly);
  const baselines: TuningReport['baselines'] = [];
  const baselineUsers: UserFigures[] = [];
  for (const name of spec.baselines ?? []) {
    hooks.onStage?.(`fitting ${name} on the fit part`);
    const started = performance.now();
    const model = await getAlgorithm(name).fit(inner.train, { seed: spec.seed });
    const seconds = (performance.now() - started) / 1000;
    try {
      const a = evaluateOnFold(model, inner.train, inner.test, all);
      const l = evaluateOnFold(model, inner.train, inner.test, likedOnly);
      baselines.push({ name, precision: a.precision!, ndcg: a.ndcg!, ndcgLiked: l.ndcg!, seconds });
      baselineUsers.push(a.perUser);
    } finally {
      model.dispose();
    }
  }
  const rows: GridRow[] = [];
  // Each row's per-user figures (all relevant), the mean over its seeds: kept out of the report (a
  // thousand numbers per row), for the paired comparison with the baselines.
  const rowUsers: UserFigures[] = [];
  try {
    for (const point of spec.grid) {
      const perSeed: GridRow['perSeed'] = [];
      const epochs: number[] = [];
      const bestEpochs: number[] = [];
      let seconds = 0;
      const seedUsers: UserFigures[] = [];
      for (const seed of seeds) {
        const started = performance.now();
        const implicit = await fitImplicitRbm(inner.train, { ...implicitPart(spec.base), ...implicitPart(point), seed }, (r) =>
          hooks.onEpoch?.('implicit', r),
        );
        seconds += (performance.now() - started) / 1000;
        try {
          const gamma = point.likeExponent ?? spec.base.likeExponent ?? DEFAULT_RANKING.likeExponent;
          const model = new WatchLikeModel(blend, implicit, liked, 0, gamma);
          const a = evaluateOnFold(model, inner.train, inner.test, all);
          seedUsers.push(a.perUser);
          const l = evaluateOnFold(model, inner.train, inner.test, likedOnly);
          const w = evaluateOnFold(new ImplicitModel(inner.train, implicit), inner.train, inner.test, all);
          const t = implicit.training;
          const members = t?.members ?? (t ? [t] : []);
          epochs.push(...members.map((m) => m.epochs));
          bestEpochs.push(...members.map((m) => m.bestEpoch));
          perSeed.push({
            seed,
            precision: a.precision!,
            ndcg: a.ndcg!,
            ndcgLiked: l.ndcg!,
            watchPrecision: w.precision!,
            watchNdcg: w.ndcg!,
          });
        } finally {
          implicit.dispose();
        }
      }
      const meanOf = (key: keyof GridFigures): number => mean(perSeed.map((f) => f[key]));
      const row: GridRow = {
        point,
        precision: meanOf('precision'),
        ndcg: meanOf('ndcg'),
        ndcgLiked: meanOf('ndcgLiked'),
        watchPrecision: meanOf('watchPrecision'),
        watchNdcg: meanOf('watchNdcg'),
        perSeed,
        epochs,
        bestEpochs,
        seconds: seconds / seeds.length,
      };
      rows.push(row);
      rowUsers.push(meanOverRuns(seedUsers));
      hooks.onRow?.(row, rows.length - 1);
    }
  } finally {
    blend.dispose();
  }
  let best = 0;
  rows.forEach((r, n) => (r.ndcg > rows[best].ndcg ? (best = n) : undefined));

  let cold: TuningReport['cold'] = null;
  if (spec.cold) {
    const chosen = { ...spec.base, ...rows[best].point };
    const point = { ...implicitPart(chosen), seed: spec.seed };
    const gamma = chosen.likeExponent ?? DEFAULT_RANKING.likeExponent;
    const split = givenNColdUsers(training, { coldFraction: spec.cold.coldFraction, given: spec.cold.ns, seed: spec.seed });
    hooks.onStage?.(`Given-N: fitting the blend and the best grid point's implicit RBM on the warm users of the training part`);
    const [b, i] = await Promise.all([
      fitRbmBlend(split.train, { seed: spec.seed }, { onEpoch: (r) => hooks.onEpoch?.('given blend', r) }),
      fitImplicitRbm(split.train, point, (r) => hooks.onEpoch?.('given implicit', r)),
    ]);
    const protocol = { k: spec.k, relevant: 'all' as const };
    const pop = measureGivenN(new PopularModel(split.train, itemRatingCounts(split.train)), split, protocol);
    const coldRows = spec.cold.priors.map((prior): ColdRow => {
      const figures = measureGivenN(new WatchLikeModel(b.model, i, liked, prior, gamma), split, protocol);
      return { prior, ndcg: figures.map((f) => f.ndcg!), precision: figures.map((f) => f.precision!) };
    });
    b.model.dispose();
    i.dispose();
    // The prior with the best mean nDCG over the Ns (ties: the smaller prior, listed first).
    let bestCold = 0;
    coldRows.forEach((r, n) => (mean(r.ndcg) > mean(coldRows[bestCold].ndcg) ? (bestCold = n) : undefined));
    cold = {
      point: rows[best].point,
      ns: [...spec.cold.ns],
      popular: { ndcg: pop.map((f) => f.ndcg!), precision: pop.map((f) => f.precision!) },
      rows: coldRows,
      best: bestCold,
    };
  }
  return {
    users: data.userIds.length,
    items: data.itemIds.length,
    validationUsers: new Set(inner.test.users).size,
    fitRatings: ratingCount(inner.train),
    validationRatings: ratingCount(inner.test),
    popular: { precision: popAll.precision!, ndcg: popAll.ndcg!, ndcgLiked: popLiked.ndcg! },
    baselines,
    rows,
    best,
    paired: baselines.map((b, x) => ({ name: b.name, ...pairedDifference([rowUsers[best]], [baselineUsers[x]]) })),
    cold,
  };
}
