/**
 * Evaluation splits as explicit objects (LensKit's idea): each fold names its training and test ratings
 * over one shared Dataset, so every model compared sees exactly the same folds.
 */
import { datasetFromTriples, subsetRatings, type Dataset, type RatingTriple } from '../data/dataset.js';
import { Rng } from '../rng.js';

export interface Fold {
  name: string;
  train: Dataset;
  test: Dataset;
}

/** Seeded random partition of all ratings into k parts; fold f tests on part f (Surprise's KFold). */
export function kFold(ds: Dataset, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`--kfold must be an integer ≥ 2, got ${k}`);
  const n = ds.levels.length;
  if (k > n) throw new RangeError(`--kfold ${k} needs at least ${k} ratings, the data has ${n}`);
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  new Rng(seed).shuffle(order);
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const from = Math.floor((f * n) / k);
    const to = Math.floor(((f + 1) * n) / k);
    const test = order.slice(from, to).sort();
    const train = Int32Array.from([...order.subarray(0, from), ...order.subarray(to)]).sort();
    folds.push({ name: `fold${f + 1}`, train: subsetRatings(ds, train), test: subsetRatings(ds, test) });
  }
  return folds;
}

/** Seeded random holdout of a fraction of all ratings. */
export function holdout(ds: Dataset, fraction: number, seed: number): Fold[] {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`--holdout must be a fraction in (0, 1), got ${fraction}`);
  const n = ds.levels.length;
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[r] = r;
  new Rng(seed).shuffle(order);
  const nTest = Math.round(fraction * n);
  if (nTest === 0 || nTest === n) throw new RangeError(`--holdout ${fraction} of ${n} ratings leaves an empty training or test part`);
  return [{
    name: 'holdout',
    train: subsetRatings(ds, order.slice(nTest).sort()),
    test: subsetRatings(ds, order.slice(0, nTest).sort()),
  }];
}

/**
 * Published splits (ML-100K's u1–u5, ua, ub): the base and test files of each name, indexed over the
 * union of their users and items so that all folds share one id space.
 */
export function publishedFolds(parts: { name: string; base: RatingTriple[]; test: RatingTriple[] }[]): Fold[] {
  const all = parts.flatMap((p) => [...p.base, ...p.test]);
  const userIds = [...new Set(all.map((t) => t.userId))].sort((a, b) => a - b);
  const itemIds = [...new Set(all.map((t) => t.itemId))].sort((a, b) => a - b);
  const ratingLevels = [...new Set(all.map((t) => t.value))].sort((a, b) => a - b);
  return parts.map((p) => ({
    name: p.name,
    train: datasetFromTriples(p.base, { userIds, itemIds, ratingLevels }),
    test: datasetFromTriples(p.test, { userIds, itemIds, ratingLevels }),
  }));
}
