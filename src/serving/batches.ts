/**
 * Many stored users at a time (the batch scorer, the precomputed top lists): blocks of users through the
 * model, as many as a working-memory budget allows, each user getting what the API would answer for them.
 * Ids are consumed lazily, so memory is one block whatever the number of users.
 */
import type { UserInput, UserScores } from '../model/index.js';
import { storedUserInput } from './inputs.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { CatalogReader } from './ports.js';
import { prunes, rankUsers, type RankBy, type RankedItems } from './ranking.js';

/**
 * Users per dense scoring block: as many as fit a working-memory budget (the model's logits and the
 * scores are about items × (3K + 2) floats a user), at most `requested`.
 */
export function blockSizeFor(snapshot: ModelSnapshot, requested = 256): number {
  const perUser = snapshot.itemIndex.size * (3 * snapshot.ratingLevels.length + 2);
  return Math.max(1, Math.min(requested, Math.floor(BLOCK_BUDGET_FLOATS / Math.max(1, perUser))));
}

const BLOCK_BUDGET_FLOATS = 32 * 1024 * 1024;

export interface ScoredStoredUser {
  userId: number;
  scores: UserScores;
  /** Model item indices the user rated (excluded from their lists). */
  rated: Int32Array;
  /** What was scored (for `becauseLists`). */
  input: UserInput;
}

/**
 * Streams stored users through the model in blocks: each yielded user's scores are what the API would
 * answer for them. Ids that are not stored users are reported through `onUnknownUser` and skipped. Memory
 * is one block, whatever the number of users (ids are consumed lazily).
 */
export function* scoreStoredUsers(
  snapshot: ModelSnapshot,
  catalog: Pick<CatalogReader, 'getUser' | 'getUserRatings'>,
  userIds: Iterable<number>,
  options: { blockSize?: number; onUnknownUser?: (userId: number) => void } = {},
): Generator<ScoredStoredUser> {
  for (const block of storedUserBlocks(snapshot, catalog, userIds, blockSizeFor(snapshot, options.blockSize), options.onUnknownUser)) {
    const scores = snapshot.model.scoreUsers(block.map((b) => b.input));
    for (let n = 0; n < block.length; n++)
      yield { userId: block[n].userId, scores: scores[n], rated: block[n].input.ratings.items, input: block[n].input };
  }
}

/** Stored users as the model's inputs, `blockSize` at a time; unknown ids are reported and skipped. */
function* storedUserBlocks(
  snapshot: ModelSnapshot,
  catalog: Pick<CatalogReader, 'getUser' | 'getUserRatings'>,
  userIds: Iterable<number>,
  blockSize: number,
  onUnknownUser?: (userId: number) => void,
): Generator<{ userId: number; input: UserInput }[]> {
  let block: { userId: number; input: UserInput }[] = [];
  for (const userId of userIds) {
    const user = catalog.getUser(userId);
    if (!user) {
      onUnknownUser?.(userId);
      continue;
    }
    block.push({ userId, input: storedUserInput(snapshot, user, catalog.getUserRatings(userId)) });
    if (block.length >= blockSize) {
      yield block;
      block = [];
    }
  }
  if (block.length > 0) yield block;
}

export interface RankedStoredUser {
  userId: number;
  /** The user's best items, as the API lists them. */
  ranked: RankedItems;
  /** What was scored (for `becauseLists`). */
  input: UserInput;
}

/**
 * Users per block of `rankUsers`: the pruned path holds about items × 2 floats a user (bounds and the
 * product they come from), full scoring blockSizeFor's.
 */
export function rankBlockSizeFor(snapshot: ModelSnapshot, rankBy: RankBy, requested = 256): number {
  if (!prunes(snapshot, rankBy)) return blockSizeFor(snapshot, requested);
  return Math.max(1, Math.min(requested, Math.floor(BLOCK_BUDGET_FLOATS / Math.max(1, 2 * snapshot.itemIndex.size))));
}

/**
 * Streams stored users' ranked lists (`limit` items by `rankBy`) in blocks: each is the list the API
 * would answer for them (rankUsers, pruned when the model allows). Unknown ids are reported and skipped;
 * memory is one block whatever the number of users.
 */
export function* rankStoredUsers(
  snapshot: ModelSnapshot,
  catalog: Pick<CatalogReader, 'getUser' | 'getUserRatings'>,
  userIds: Iterable<number>,
  limit: number,
  options: { rankBy?: RankBy; blockSize?: number; onUnknownUser?: (userId: number) => void } = {},
): Generator<RankedStoredUser> {
  const rankBy = options.rankBy ?? 'score';
  const blockSize = rankBlockSizeFor(snapshot, rankBy, options.blockSize);
  for (const block of storedUserBlocks(snapshot, catalog, userIds, blockSize, options.onUnknownUser)) {
    const ranked = rankUsers(
      snapshot,
      block.map((b) => b.input),
      { limit, rankBy },
    );
    for (let n = 0; n < block.length; n++) yield { userId: block[n].userId, ranked: ranked[n], input: block[n].input };
  }
}
