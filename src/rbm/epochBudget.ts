/**
 * The epoch budget that scales with the data, one rule for every RBM the default model trains (issue 21).
 * An epoch is ⌈cases / B⌉ mini-batch updates: ML-100K's user RBM makes 48 an epoch, MovieLens 25M's
 * 8,128 (items: 85 against 2,953), so a large catalog reaches its validation optimum in far fewer epochs
 * and the epoch count chosen on a small one would waste hours there. Training runs
 *
 *   budget = min(epochs, max(minEpochs, ⌈updates / ⌈cases / B⌉⌉))
 *
 * epochs (early stopping's patience capped to it): small data keeps the epochs chosen on validation, a
 * large one at least `minEpochs`, every case still visited that many times. Each model's rule (`updates`,
 * `minEpochs`) is chosen on validation curves at several sizes (docs/performance.md).
 */
export interface EpochBudgetRule {
  /** Mini-batch updates past which more epochs are not needed. */
  updates: number;
  /** Epochs a large data set still trains (its validation curve has flattened by then). */
  minEpochs: number;
}

export function scaledEpochs(epochs: number, cases: number, batchSize: number, rule: EpochBudgetRule): number {
  const batches = Math.max(1, Math.ceil(cases / batchSize));
  return Math.min(epochs, Math.max(rule.minEpochs, Math.ceil(rule.updates / batches)));
}
