/**
 * Batch top-N: `userId,rank,itemId,predicted,score` for every chosen user, the N best-ranked items among
 * those they have not rated — the same list, item for item, as the API's recommendations for that user,
 * because both come from serving (rankStoredUsers / rankUsers: the exact pruned top-k when the model
 * bounds its scores, else every item scored). With `explain`, each row also carries the
 * API's `because` as because1ItemId, because1Rating, because1Influence, … because3Influence (empty cells
 * where the list is shorter), from the same serving function (becauseLists).
 *
 * Memory stays flat whatever the number of users: user ids are consumed lazily, each user's ratings are
 * read from SQLite only when the next block is scored, and the rows go out through a CsvWriter that waits
 * on backpressure.
 */
import type { Writable } from 'node:stream';
import type { ModelSnapshot } from '../serving/modelHolder.js';
import type { CatalogReader } from '../serving/ports.js';
import { BECAUSE_MAX } from '../model/index.js';
import { becauseLists } from '../serving/answers.js';
import { rankStoredUsers } from '../serving/batches.js';
import type { RankBy } from '../serving/ranking.js';
import { CsvWriter, formatPredicted } from './csv-writer.js';

export const TOP_N_HEADER = ['userId', 'rank', 'itemId', 'predicted', 'score'];
/** The extra columns of `--explain`: because{n}ItemId, because{n}Rating, because{n}Influence for n = 1…3. */
export const BECAUSE_HEADER = Array.from({ length: BECAUSE_MAX }, (_, n) => [
  `because${n + 1}ItemId`,
  `because${n + 1}Rating`,
  `because${n + 1}Influence`,
]).flat();
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
  /** Add the `because` columns (BECAUSE_HEADER). */
  explain?: boolean;
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
  await writer.write(options.explain ? [...TOP_N_HEADER, ...BECAUSE_HEADER] : TOP_N_HEADER);
  let unknownUsers = 0;
  let users = 0;
  let rows = 0;
  const ranked = rankStoredUsers(snapshot, catalog, options.userIds, top, {
    rankBy: options.rankBy,
    blockSize: options.blockSize,
    onUnknownUser: (userId) => {
      unknownUsers++;
      options.onUnknownUser?.(userId);
    },
  });
  for (const { userId, ranked: list, input } of ranked) {
    const best = Array.from(list.items);
    const because = options.explain ? becauseLists(snapshot, input, best) : null;
    for (let rank = 0; rank < best.length; rank++) {
      const row: (string | number)[] = [
        userId,
        rank + 1,
        itemIds[best[rank]],
        list.expected ? formatPredicted(list.expected[rank]) : '',
        formatPredicted(list.score[rank]),
      ];
      if (because) {
        for (let n = 0; n < BECAUSE_MAX; n++) {
          const b = because[rank][n];
          row.push(...(b ? [b.itemId, b.rating, formatPredicted(b.influence)] : ['', '', '']));
        }
      }
      await writer.write(row);
    }
    rows += best.length;
    users++;
    options.onProgress?.(users);
  }
  await writer.flush();
  return { users, rows, unknownUsers };
}
