/**
 * Batch top-N: `userId,rank,itemId,predicted,score` for every chosen user, the N best-ranked items among
 * those they have not rated — the same list, item for item, as the API's recommendations for that user,
 * because both come from serving (scoreStoredUsers / rankItems).
 *
 * Memory stays flat whatever the number of users: user ids are consumed lazily, each user's ratings are
 * read from SQLite only when the next block is scored, and the rows go out through a CsvWriter that waits
 * on backpressure.
 */
import type { Writable } from 'node:stream';
import type { ModelSnapshot } from '../serving/modelHolder.js';
import type { CatalogReader } from '../serving/ports.js';
import { rankItems, scoreStoredUsers, type RankBy } from '../serving/service.js';
import { CsvWriter, formatPredicted } from './csv-writer.js';

export const TOP_N_HEADER = ['userId', 'rank', 'itemId', 'predicted', 'score'];
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
  /** Order of each list (default the served algorithm's score, as the API). */
  rankBy?: RankBy;
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
  let unknownUsers = 0;
  let users = 0;
  let rows = 0;
  const scored = scoreStoredUsers(snapshot, catalog, options.userIds, {
    blockSize: options.blockSize,
    onUnknownUser: (userId) => {
      unknownUsers++;
      options.onUnknownUser?.(userId);
    },
  });
  for (const { userId, scores, rated } of scored) {
    const best = rankItems(snapshot, scores, rated, top, undefined, options.rankBy);
    for (let rank = 0; rank < best.length; rank++) {
      const i = best[rank];
      await writer.write([userId, rank + 1, itemIds[i], scores.expected ? formatPredicted(scores.expected[i]) : '', formatPredicted(scores.score[i])]);
    }
    rows += best.length;
    users++;
    options.onProgress?.(users);
  }
  await writer.flush();
  return { users, rows, unknownUsers };
}
