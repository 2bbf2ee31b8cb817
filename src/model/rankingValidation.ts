/**
 * Tuning the closed-form ranking baselines (EASE^R, implicit ALS) honestly: a seeded per-user validation
 * slice is carved from the training part (as the implicit RBM's, rbm/implicit.ts carveValidation), each
 * setting of a small grid is fitted on the rest and scored by nDCG@k of the held-out items, and the best
 * setting is refitted on the whole training part. The test part is never seen.
 */
import type { Dataset } from '../data/dataset.js';
import { carveValidation, ratedRows } from '../rbm/implicit.js';
import type { RatedRows } from '../rbm/implicitTrain.js';
import { topK } from '../rbm/topK.js';
import { Rng } from '../rng.js';

export type { RatedRows };

/** Scores every item for each user of a block (their indices in the fit rows, and the fit items each rated). */
export type BlockScorer = (users: readonly number[], rated: readonly Int32Array[]) => ArrayLike<number>[];

export interface ValidationSlice {
  /** Every training user's distinct rated items. */
  all: RatedRows;
  /** What each grid point is fitted on… */
  fit: RatedRows;
  /** …and what it is measured against. */
  validation: RatedRows;
}

/** The seeded per-user validation slice of `train` (round(fraction · n_u) items per user, never all). */
export function validationSlice(train: Dataset, fraction: number, seed: number): ValidationSlice {
  const all = ratedRows(train);
  return { all, ...carveValidation(all, fraction, new Rng(seed)) };
}

/** User u's items of `rows`. */
export const rowItems = (rows: RatedRows, u: number): Int32Array => rows.colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1]);

/**
 * Mean nDCG@k over the users with validation items: each is scored from their fit items alone, those are
 * excluded from the list, and the held-out items are the relevant ones (binary gains):
 *   DCG = Σ_{r<k} rel_r / log2(r + 2),   nDCG = DCG / Σ_{r < min(k, |held out|)} 1 / log2(r + 2).
 * NaN when no user has validation items.
 */
export function validationNdcgOf(score: BlockScorer, fit: RatedRows, validation: RatedRows, k: number, blockSize = 256): number {
  const users: number[] = [];
  for (let u = 0; u < validation.rows; u++) if (validation.rowStart[u + 1] > validation.rowStart[u]) users.push(u);
  if (users.length === 0) return NaN;
  const mask = new Uint8Array(fit.cols);
  const relevant = new Uint8Array(fit.cols);
  let total = 0;
  for (let from = 0; from < users.length; from += blockSize) {
    const block = users.slice(from, from + blockSize);
    const scores = score(
      block,
      block.map((u) => rowItems(fit, u)),
    );
    block.forEach((u, n) => {
      const rated = rowItems(fit, u);
      const held = rowItems(validation, u);
      for (const i of rated) mask[i] = 1;
      for (const i of held) relevant[i] = 1;
      const top = topK(scores[n], k, (i) => mask[i] !== 0);
      let dcg = 0;
      for (let r = 0; r < top.length; r++) if (relevant[top[r]]) dcg += 1 / Math.log2(r + 2);
      let idcg = 0;
      for (let r = 0; r < Math.min(k, held.length); r++) idcg += 1 / Math.log2(r + 2);
      total += dcg / idcg;
      for (const i of rated) mask[i] = 0;
      for (const i of held) relevant[i] = 0;
    });
  }
  return total / users.length;
}

/** One grid point measured on the validation slice. */
export interface GridPoint<Setting> {
  setting: Setting;
  ndcg: number;
}

/** The setting with the highest validation nDCG (the first of equals, so the grid's order breaks ties). */
export function bestOf<Setting>(points: readonly GridPoint<Setting>[]): GridPoint<Setting> {
  let best = points[0];
  for (const p of points) if (p.ndcg > best.ndcg || (Number.isNaN(best.ndcg) && !Number.isNaN(p.ndcg))) best = p;
  return best;
}
