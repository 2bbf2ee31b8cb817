/**
 * `npm run because-gap -- [--db <path|postgres://…>] [--every 19] [--top 10]`: how faithful the served model's `because`
 * is on the stored users of a database (src/eval/because.ts), as visitors posting their ratings, as stored
 * users after a rating change (per-user parameters refitted with and without the rating), and as unchanged
 * stored users (the served path: trained parameters with all ratings, refitted ones without). Prints JSON.
 */
import { dbPathFrom, integerFlag, parseFlags, UsageError } from './common.js';
import { becauseGap, ratingsWithout } from '../eval/because.js';
import type { UserInput } from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { openScoringContext } from '../scoring/context.js';
import { storedUserInput } from '../serving/inputs.js';

export const BECAUSE_GAP_USAGE = 'usage: npm run because-gap -- [--db <path|postgres://…>] [--every <n>] [--top <n>]';

export async function becauseGapMain(argv: string[]): Promise<void> {
  const values = parseFlags(argv, {
    db: { type: 'string' },
    every: { type: 'string' },
    top: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${BECAUSE_GAP_USAGE}\n`);
    return;
  }
  const every = integerFlag(values.every, 'every', 1, 1_000_000) ?? 19;
  const top = integerFlag(values.top, 'top', 1, 1000) ?? 10;
  const backend = await initBackend();
  const context = await openScoringContext(dbPathFrom(values.db));
  try {
    const { snapshot, catalog } = context;
    const stored: UserInput[] = [];
    let n = 0;
    for (const userId of catalog.iterateUserIds()) {
      if (n++ % every !== 0) continue;
      const user = catalog.getUser(userId);
      if (user) stored.push(storedUserInput(snapshot, user, catalog.getUserRatings(userId)));
    }
    if (stored.length === 0) throw new UsageError('the database has no stored users to check');
    const refitted = (input: UserInput, r: number): UserInput => ({ ...input, ratings: ratingsWithout(input, r), refit: true });
    const result = {
      modelVersion: snapshot.versionId,
      algorithm: snapshot.model.algorithm,
      backend,
      users: stored.length,
      top,
      visitors: becauseGap(
        snapshot.model,
        stored.map((u) => ({ ratings: u.ratings })),
        top,
        (u, r) => ({ ratings: ratingsWithout(u, r) }),
      ),
      storedAfterChange: becauseGap(
        snapshot.model,
        stored.map((u) => ({ ...u, refit: true })),
        top,
        refitted,
      ),
      storedUnchanged: becauseGap(snapshot.model, stored, top, refitted),
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await context.close();
  }
}
