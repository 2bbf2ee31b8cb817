/** Accuracy metrics over parallel arrays of predictions and actual ratings. */
export interface ErrorMetrics {
  rmse: number;
  mae: number;
}

export function errorMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>): ErrorMetrics {
  if (predicted.length !== actual.length) {
    throw new Error(`metrics need as many predictions as ratings, got ${predicted.length} and ${actual.length}`);
  }
  // No ratings means no measurement, not a perfect score.
  if (actual.length === 0) return { rmse: NaN, mae: NaN };
  let sq = 0;
  let abs = 0;
  for (let n = 0; n < actual.length; n++) {
    const d = predicted[n] - actual[n];
    sq += d * d;
    abs += Math.abs(d);
  }
  const n = actual.length;
  return { rmse: Math.sqrt(sq / n), mae: abs / n };
}

/**
 * The q-quantile of ascending `sorted` by nearest rank: the ⌈q·n⌉-th smallest value, clamped to the first
 * and last (q = 0 is the minimum, q = 1 the maximum); NaN when there is none. Latency reports and the
 * load test read their p50/p90/p99 here.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
