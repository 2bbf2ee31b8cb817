/**
 * A ranked list as the API (and the batch scorer) shows it: item records, scores and probabilities
 * rounded once, and the `because` of each listed item. `visitorRecommendations` is a visitor's whole
 * answer from the snapshot alone, so the visitor pool's workers run exactly this code.
 */
import type { BecauseItem, RatingInput, ScoredItem } from '../api/types.js';
import { BECAUSE_MAX, likedLevelIndex, type UserInput } from '../model/index.js';
import { visitorInput } from './inputs.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { ItemRecord } from './ports.js';
import { rankUsers, type ListRequest, type RankedItems } from './ranking.js';

/** Scores and probabilities leave the process with 4 decimals (JSON and CSV alike): enough, and small. */
export const roundScore = (x: number): number => Math.round(x * 1e4) / 1e4;

/**
 * `because` of each listed item (model item indices): the served model's `explain` when it has that
 * capability, else empty lists. Asked only for the listed items, so its cost follows the list's length.
 * It explains the ranking score, whatever order the list is in (rankBy).
 */
export function becauseLists(snapshot: ModelSnapshot, input: UserInput, items: readonly number[]): BecauseItem[][] {
  const { model } = snapshot;
  if (!model.explain || items.length === 0) return items.map(() => []);
  const { items: rated, levels } = input.ratings;
  const liked = likedLevelIndex(snapshot.ratingLevels);
  // A reason whose influence rounds to 0 at the 4 decimals every score leaves with would read "raised it by
  // 0.0000" (a low-ranked item's score is itself tiny): such reasons are not shown.
  return model.explain(input, items, BECAUSE_MAX).map((list) =>
    list
      .filter(({ influence }) => roundScore(influence) > 0)
      .map(({ rating, influence, raises }) => ({
        itemId: snapshot.meta.itemIds[rated[rating]],
        title: snapshot.itemRecords[rated[rating]]?.title ?? null,
        rating: snapshot.ratingLevels[levels[rating]],
        influence: roundScore(influence),
        raises,
        liked: levels[rating] >= liked,
      })),
  );
}

/** Item j of a ranked list as the API shows it. */
export function rankedItem(snapshot: ModelSnapshot, ranked: RankedItems, j: number, because: BecauseItem[] = []): ScoredItem {
  const K = snapshot.ratingLevels.length;
  return {
    ...(snapshot.itemRecords[ranked.items[j]] as ItemRecord),
    score: roundScore(ranked.score[j]),
    predicted: ranked.expected ? roundScore(ranked.expected[j]) : null,
    distribution: ranked.distribution ? distributionRow(ranked.distribution, j, K) : null,
    because,
  };
}

/** The ranked items as the API shows them, each with its `because`. */
export function listedItems(snapshot: ModelSnapshot, ranked: RankedItems, input: UserInput): ScoredItem[] {
  const best = Array.from(ranked.items);
  const because = becauseLists(snapshot, input, best);
  return best.map((_, j) => rankedItem(snapshot, ranked, j, because[j]));
}

/**
 * A visitor's list once their item ids are known to be valid (ServingService.recommendForVisitor checks
 * them against the catalog first): fold in, score, rank, explain. Needs only the snapshot, so the visitor
 * pool's workers (visitorPool.ts) run exactly this code on their copy of the model version.
 */
export function visitorRecommendations(snapshot: ModelSnapshot, ratings: readonly RatingInput[], list: ListRequest): ScoredItem[] {
  return inputRecommendations(snapshot, visitorInput(snapshot, ratings), list);
}

/**
 * A list from a user's model input alone (a visitor's, or a stored user's as storedUserInput builds it):
 * rank, explain. What ServingService computes inline for the same input, so the pool's workers give the
 * same answer.
 */
export function inputRecommendations(snapshot: ModelSnapshot, input: UserInput, list: ListRequest): ScoredItem[] {
  const [ranked] = rankUsers(snapshot, [input], list);
  return listedItems(snapshot, ranked, input);
}

/** Row `row` of a distribution (K values a row) as the API shows it. */
export function distributionRow(distribution: Float32Array, row: number, K: number): number[] {
  const out = new Array<number>(K);
  for (let k = 0; k < K; k++) out[k] = roundScore(distribution[row * K + k]);
  return out;
}
