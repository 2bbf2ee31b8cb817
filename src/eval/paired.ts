/**
 * Paired comparison of two algorithms measured on the same test users. Two algorithms' means differ by
 * less than either mean's spread suggests, because the users are shared: a user whose held-out items are
 * easy to find is easy for both. So the difference is measured per user and its spread taken over users:
 *
 *   d_u = x_u(a) − x_u(b),   Δ = (1/n) Σ_u d_u,   SE(Δ) = sd(d) / √n,   sd² = Σ_u (d_u − Δ)² / (n − 1)
 *
 * for each per-list metric x (P@k, R@k, nDCG@k, AP@k). Over F folds the fold means are averaged, as the
 * tables average the figures, and their standard errors combined as those of independent means:
 * Δ = (1/F) Σ_f Δ_f, SE = √(Σ_f SE_f²) / F. |Δ| < 2 SE is a difference one split cannot tell from noise.
 */
import type { UserFigures } from './ranking.js';

export const PAIRED_METRICS = ['precision', 'recall', 'ndcg', 'map'] as const;
export type PairedMetric = (typeof PAIRED_METRICS)[number];

export interface MeanWithError {
  mean: number;
  /** NaN when fewer than two users were measured on some fold. */
  standardError: number;
}

export interface PairedDifference {
  /** Users compared, summed over folds. */
  users: number;
  difference: Record<PairedMetric, MeanWithError>;
}

/** a − b per metric, fold by fold (a[f] and b[f] measured on fold f); both must have measured the same users. */
export function pairedDifference(a: readonly UserFigures[], b: readonly UserFigures[]): PairedDifference {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(`a paired comparison needs the same folds on both sides, got ${a.length} and ${b.length}`);
  }
  let users = 0;
  const folds = a.map((fa, f) => {
    const fb = b[f];
    const at = new Map<number, number>();
    fb.users.forEach((u, x) => at.set(u, x));
    if (fa.users.length !== fb.users.length || fa.users.some((u) => !at.has(u))) {
      throw new Error(
        `fold ${f + 1}: the two algorithms were measured on different users (${fa.users.length} and ${fb.users.length}); a paired comparison needs the same ones`,
      );
    }
    users += fa.users.length;
    const index = Array.from(fa.users, (u) => at.get(u) ?? -1);
    return Object.fromEntries(PAIRED_METRICS.map((m) => [m, meanWithError(Array.from(fa[m], (x, i) => x - fb[m][index[i]]))])) as Record<
      PairedMetric,
      MeanWithError
    >;
  });
  const F = folds.length;
  const difference = Object.fromEntries(
    PAIRED_METRICS.map((m) => [
      m,
      {
        mean: folds.reduce((s, d) => s + d[m].mean, 0) / F,
        standardError: Math.sqrt(folds.reduce((s, d) => s + d[m].standardError ** 2, 0)) / F,
      },
    ]),
  ) as Record<PairedMetric, MeanWithError>;
  return { users, difference };
}

/**
 * Several runs measured on the same users (e.g. one model trained from several seeds) as one: each
 * user's figures averaged over the runs, x̄_u = (1/R) Σ_r x_u(r), ready for pairedDifference.
 */
export function meanOverRuns(runs: readonly UserFigures[]): UserFigures {
  if (runs.length === 0) throw new RangeError('meanOverRuns needs at least one run');
  const [first] = runs;
  const n = first.users.length;
  runs.forEach((r, x) => {
    if (r.users.length !== n || r.users.some((u, i) => u !== first.users[i])) {
      throw new Error(`run ${x + 1} was measured on other users than run 1 (${r.users.length} and ${n}); their means need the same ones`);
    }
  });
  const meanOf = (m: PairedMetric): Float64Array =>
    Float64Array.from(first[m], (_, i) => runs.reduce((s, r) => s + r[m][i], 0) / runs.length);
  return {
    users: Int32Array.from(first.users),
    precision: meanOf('precision'),
    recall: meanOf('recall'),
    ndcg: meanOf('ndcg'),
    map: meanOf('map'),
  };
}

/** The mean of d and its standard error sd(d)/√n (NaN for n < 2; NaN mean for n = 0). */
export function meanWithError(d: readonly number[]): MeanWithError {
  const n = d.length;
  const mean = n ? d.reduce((s, x) => s + x, 0) / n : NaN;
  if (n < 2) return { mean, standardError: NaN };
  const ss = d.reduce((s, x) => s + (x - mean) ** 2, 0);
  return { mean, standardError: Math.sqrt(ss / (n - 1) / n) };
}
