/**
 * The evaluation of several algorithms side by side: on every fold each algorithm is fitted on the
 * training part only, every test user is folded in from their training ratings alone, and the same
 * scores give both the rating metrics (RMSE, MAE: algorithms that predict ratings) and the ranking
 * metrics of the top-k lists that exclude the user's training items. Then, optionally, Given-N cold
 * users: a share of the users is held out of training entirely, each reveals N ratings which are folded in
 * as a visitor's (no per-user parameters, as `POST /api/recommendations`), and is measured on the rest.
 *
 * Pure: knows algorithms only by the protocol, and reports progress through hooks.
 */
import type { Dataset } from '../data/dataset.js';
import { compressRows } from '../data/dataset.js';
import { getAlgorithm, type EpochReport, type FitOptions, type TrainedModel, type TrainingSummary } from '../model/index.js';
import { forEachTestUser } from './crossValidate.js';
import { errorMetrics, type ErrorMetrics } from './metrics.js';
import { popularityOf, RankingAccumulator, relevantByUser, topK, type RankingSummary, type UserFigures } from './ranking.js';
import type { ColdUserSplit, Fold } from './splits.js';

export interface RankingProtocol {
  /** List length. */
  k: number;
  /** Which held-out items count as relevant: all of them, or those rated ≥ the value. */
  relevant: 'all' | number;
}

/** The figures of one algorithm on one fold (or one Given-N part); null where it cannot produce them. */
export interface AlgorithmFigures {
  rmse: number | null;
  mae: number | null;
  precision: number | null;
  recall: number | null;
  ndcg: number | null;
  map: number | null;
  hitRate: number | null;
  coverage: number | null;
  /** Mean self-information of recommended items, in bits (not a fraction). */
  novelty: number | null;
}

export interface AlgorithmFoldResult extends AlgorithmFigures {
  fold: string;
  trainSeconds: number;
  /** Seconds to score and rank every test user. */
  evaluateSeconds: number;
  testRatings: number;
  ranking: RankingSummary;
  /** Each measured test user's list metrics, keyed by user index (for paired comparisons). */
  perUser: UserFigures;
  training: TrainingSummary;
}

export interface AlgorithmResult {
  name: string;
  description: string;
  folds: AlgorithmFoldResult[];
  mean: AlgorithmFigures;
}

export interface GivenResult {
  n: number;
  /** Cold users skipped at this N (fewer than N + 5 ratings). */
  skipped: number;
  algorithms: ({ name: string } & GivenFigures)[];
}

/** One algorithm's figures on one Given-N part, with each measured cold user's list metrics. */
export type GivenFigures = { users: number; perUser: UserFigures } & AlgorithmFigures;

export interface EvaluationHooks {
  onEpoch?: (where: string, report: EpochReport) => void;
  onFoldDone?: (algorithm: string, result: AlgorithmFoldResult) => void;
  onStage?: (line: string) => void;
}

/** Scores one fitted model on one fold: rating metrics from `expected`, ranking metrics from `score`. */
export function evaluateOnFold(
  model: TrainedModel,
  train: Dataset,
  test: Dataset,
  protocol: RankingProtocol,
): Omit<AlgorithmFoldResult, 'fold' | 'trainSeconds' | 'evaluateSeconds' | 'training'> {
  const relevant = relevantByUser(test, protocol.relevant);
  const ranking = new RankingAccumulator({ k: protocol.k, catalogSize: train.itemIds.length, popularity: popularityOf(train) });
  const testRows = compressRows(test, 'user');
  const predicted: number[] = [];
  const actual: number[] = [];
  const seen = new Uint8Array(train.itemIds.length);
  forEachTestUser(model, train, test, (u, scores, trainItems) => {
    for (const i of trainItems) seen[i] = 1;
    ranking.add(
      topK(scores.score, protocol.k, (i) => seen[i] === 1),
      relevant[u],
      u,
    );
    for (const i of trainItems) seen[i] = 0;
    if (scores.expected) {
      for (let t = testRows.rowStart[u]; t < testRows.rowStart[u + 1]; t++) {
        predicted.push(scores.expected[testRows.colIndex[t]]);
        actual.push(test.ratingLevels[testRows.levels[t]]);
      }
    }
  });
  const summary = ranking.summary();
  const errors = model.predictsRatings ? errorMetrics(predicted, actual) : null;
  return { ...figures(errors, summary), testRatings: test.levels.length, ranking: summary, perUser: ranking.perUser() };
}

function figures(errors: ErrorMetrics | null, r: RankingSummary): AlgorithmFigures {
  return {
    rmse: errors?.rmse ?? null,
    mae: errors?.mae ?? null,
    precision: r.precision,
    recall: r.recall,
    ndcg: r.ndcg,
    map: r.map,
    hitRate: r.hitRate,
    coverage: r.coverage,
    novelty: r.novelty,
  };
}

const FIGURES: (keyof AlgorithmFigures)[] = ['rmse', 'mae', 'precision', 'recall', 'ndcg', 'map', 'hitRate', 'coverage', 'novelty'];

/** Mean of each figure over folds (null stays null). */
export function meanFigures(rows: readonly AlgorithmFigures[]): AlgorithmFigures {
  const out = {} as AlgorithmFigures;
  for (const f of FIGURES) {
    const values = rows.map((r) => r[f]);
    out[f] = values.some((v) => v === null) ? null : values.reduce<number>((s, v) => s + (v as number), 0) / values.length;
  }
  return out;
}

/** Every algorithm on every fold, the same folds for all. Models are disposed as soon as they are measured. */
export async function evaluateAlgorithms(
  folds: readonly Fold[],
  algorithms: readonly string[],
  options: FitOptions,
  protocol: RankingProtocol,
  hooks: EvaluationHooks = {},
): Promise<AlgorithmResult[]> {
  const results: AlgorithmResult[] = algorithms.map((name) => ({
    name,
    description: getAlgorithm(name).description,
    folds: [],
    mean: meanFigures([]),
  }));
  for (const fold of folds) {
    for (const result of results) {
      let started = performance.now();
      const model = await getAlgorithm(result.name).fit(fold.train, options, {
        onEpoch: (r) => hooks.onEpoch?.(`${fold.name} ${result.name}`, r),
      });
      const trainSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      const measured = evaluateOnFold(model, fold.train, fold.test, protocol);
      const training = model.toState().meta.training ?? {};
      model.dispose();
      const row: AlgorithmFoldResult = {
        fold: fold.name,
        trainSeconds,
        evaluateSeconds: (performance.now() - started) / 1000,
        training,
        ...measured,
      };
      result.folds.push(row);
      hooks.onFoldDone?.(result.name, row);
    }
  }
  for (const result of results) result.mean = meanFigures(result.folds);
  return results;
}

/**
 * One model, trained on `split.train`, on every Given-N part: each measured cold user's N revealed ratings
 * are folded in with no user index (the visitor path) and their other ratings are predicted and ranked,
 * excluding the revealed items. One entry per part, in order.
 */
export function measureGivenN(model: TrainedModel, split: ColdUserSplit, protocol: RankingProtocol): GivenFigures[] {
  const popularity = popularityOf(split.train);
  return split.given.map((part) => {
    const revealed = compressRows(part.revealed, 'user');
    const test = compressRows(part.test, 'user');
    const relevant = relevantByUser(part.test, protocol.relevant);
    const ranking = new RankingAccumulator({ k: protocol.k, catalogSize: split.train.itemIds.length, popularity });
    const predicted: number[] = [];
    const actual: number[] = [];
    const seen = new Uint8Array(split.train.itemIds.length);
    for (const u of part.users) {
      const s = revealed.rowStart[u];
      const e = revealed.rowStart[u + 1];
      const ratings = { items: revealed.colIndex.subarray(s, e), levels: revealed.levels.subarray(s, e) };
      const [scores] = model.scoreUsers([{ ratings }]);
      for (const i of ratings.items) seen[i] = 1;
      ranking.add(
        topK(scores.score, protocol.k, (i) => seen[i] === 1),
        relevant[u],
        u,
      );
      for (const i of ratings.items) seen[i] = 0;
      if (scores.expected) {
        for (let t = test.rowStart[u]; t < test.rowStart[u + 1]; t++) {
          predicted.push(scores.expected[test.colIndex[t]]);
          actual.push(part.test.ratingLevels[test.levels[t]]);
        }
      }
    }
    return {
      users: part.users.length,
      perUser: ranking.perUser(),
      ...figures(model.predictsRatings ? errorMetrics(predicted, actual) : null, ranking.summary()),
    };
  });
}

/**
 * Given-N: each algorithm trains once on the warm users; then for every N each measured cold user's N
 * revealed ratings are folded in with no user index (the visitor path) and their other ratings are
 * predicted and ranked, excluding the revealed items.
 */
export async function evaluateGivenN(
  split: ColdUserSplit,
  algorithms: readonly string[],
  options: FitOptions,
  protocol: RankingProtocol,
  hooks: EvaluationHooks = {},
): Promise<GivenResult[]> {
  const out: GivenResult[] = split.given.map((part) => ({ n: part.n, skipped: part.skipped.length, algorithms: [] }));
  for (const name of algorithms) {
    hooks.onStage?.(`Given-N: training ${name} on the ${split.train.userIds.length - split.coldUsers.length} warm users`);
    const model = await getAlgorithm(name).fit(split.train, options, { onEpoch: (r) => hooks.onEpoch?.(`given ${name}`, r) });
    measureGivenN(model, split, protocol).forEach((figures, p) => out[p].algorithms.push({ name, ...figures }));
    model.dispose();
  }
  return out;
}
