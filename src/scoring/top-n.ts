/**
 * Batch top-N: `userId,rank,itemId,predicted` for every chosen user, the N best-predicted items among
 * those they have not rated.
 *
 * Memory stays flat whatever the number of users: user ids are consumed lazily, each user's ratings are
 * read from SQLite only when `scoreUsers` pulls the next block, the rows go out through a CsvWriter
 * that waits on backpressure, and nothing per user outlives its block. The dense work (every item for a
 * block of users) is `scoreUsers`'s tfjs matMul.
 */
import type { Writable } from 'node:stream';
import { scoreUsers } from '../model/index.js';
import type { KnownRatings } from '../model/types.js';
import type { ModelSnapshot } from '../server/model-holder.js';
import type { CatalogReader } from '../server/ports.js';
import { selectTop, toKnownRatings } from '../server/recommender.js';
import { CsvWriter, formatPredicted } from './csv-writer.js';

export const TOP_N_HEADER = ['userId', 'rank', 'itemId', 'predicted'];

export interface TopNOptions {
  snapshot: ModelSnapshot;
  catalog: Pick<CatalogReader, 'getUser' | 'getUserRatings'>;
  /** Users to score, consumed lazily (a generator keeps memory flat for any count). */
  userIds: Iterable<number>;
  /** N: items per user, ≥ 1. */
  top: number;
  out: Writable;
  /** Users per scoring block (passed to scoreUsers). */
  blockSize?: number;
  /** A chosen id that is not a stored user: reported, then skipped. */
  onUnknownUser?: (userId: number) => void;
  onProgress?: (usersDone: number) => void;
}

export interface TopNSummary {
  users: number;
  rows: number;
  unknownUsers: number;
}

export async function writeTopN(options: TopNOptions): Promise<TopNSummary> {
  const { snapshot, catalog, top, out } = options;
  const itemIds = snapshot.meta.itemIds;
  const writer = new CsvWriter(out);
  await writer.write(TOP_N_HEADER);

  // scoreUsers yields one row of scores per input user, in input order: the queue pairs each result with
  // the user (and rated items) it belongs to. It never holds more than a block.
  const queue: { userId: number; rated: Int32Array }[] = [];
  let unknownUsers = 0;
  function* inputs(): Generator<{ ratings: KnownRatings; userIndex?: number }> {
    for (const userId of options.userIds) {
      const user = catalog.getUser(userId);
      if (!user) {
        unknownUsers++;
        options.onUnknownUser?.(userId);
        continue;
      }
      const ratings = toKnownRatings(snapshot, catalog.getUserRatings(userId).map((r) => ({ itemId: r.itemId, rating: r.value })));
      queue.push({ userId, rated: ratings.items });
      // A user whose ratings changed since training is folded in from their ratings alone (no trained
      // per-user parameters): the batch equivalent of the server's `refit`.
      const stale = user.updatedAt !== null && user.updatedAt > snapshot.createdAt;
      yield { ratings, userIndex: stale ? undefined : snapshot.userIndex.get(userId) };
    }
  }

  const excluded = new Uint8Array(snapshot.model.itemCount);
  const accept = (i: number): boolean => excluded[i] === 0;
  let users = 0;
  let rows = 0;
  for await (const expected of scoreUsers(snapshot.model, inputs(), { blockSize: options.blockSize })) {
    const next = queue.shift();
    if (!next) throw new Error('scoreUsers yielded more score rows than users were given');
    for (const i of next.rated) excluded[i] = 1;
    const best = selectTop(expected, top, accept);
    for (const i of next.rated) excluded[i] = 0;
    for (let rank = 0; rank < best.length; rank++) {
      await writer.write([next.userId, rank + 1, itemIds[best[rank]], formatPredicted(expected[best[rank]])]);
    }
    rows += best.length;
    users++;
    options.onProgress?.(users);
  }
  await writer.flush();
  return { users, rows, unknownUsers };
}
