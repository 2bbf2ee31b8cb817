/**
 * The batch scorer's command line (`npm run score`): argument parsing and the run itself, kept out of the
 * script so tests can drive it in-process. See scripts/score.ts for the usage.
 *
 * The output is written to a temporary file beside --out and renamed when complete, so a failed run never
 * leaves a truncated CSV that looks finished.
 */
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createProgress } from './progress.js';
import { dbPathFrom, integerFlag, parseFlags, UsageError } from './common.js';
import { initBackend } from '../rbm/backend.js';
import { openScoringContext } from '../scoring/context.js';
import { BadRowError, scorePairs } from '../scoring/pairs.js';
import { writeTopN } from '../scoring/top-n.js';
import type { RankBy } from '../serving/service.js';
import { parseUserIdList, readUserIdsFile } from '../scoring/users.js';

export const SCORE_USAGE = `usage:
  npm run score -- [--db <path|postgres://…>] --top <n> --out <recs.csv> [--users 1,2,3 | --users-file <file>] [--block-size <n>] [--rank-by score|predicted] [--explain]
  npm run score -- [--db <path|postgres://…>] --pairs <pairs.csv> --out <scored.csv> [--strict]`;

export { UsageError };

function parseRankBy(raw: string | undefined): RankBy {
  if (raw === undefined || raw === 'score') return 'score';
  if (raw === 'predicted') return 'predicted';
  throw new UsageError(`--rank-by must be "score" or "predicted", got "${raw}"`);
}

export interface ScoreCommand {
  dbPath: string;
  out: string;
  mode:
    | {
        kind: 'top';
        top: number;
        users: string | undefined;
        usersFile: string | undefined;
        blockSize: number | undefined;
        rankBy: RankBy;
        explain: boolean;
      }
    | { kind: 'pairs'; pairs: string; strict: boolean };
}

/** The command, or 'help' for --help. Throws UsageError for anything malformed. */
export function parseScoreArgs(argv: string[]): ScoreCommand | 'help' {
  const values = parseFlags(argv, {
    db: { type: 'string' },
    top: { type: 'string' },
    out: { type: 'string' },
    users: { type: 'string' },
    'users-file': { type: 'string' },
    'block-size': { type: 'string' },
    'rank-by': { type: 'string' },
    explain: { type: 'boolean' },
    pairs: { type: 'string' },
    strict: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (!values.out) throw new UsageError('--out <file> is required');
  const dbPath = dbPathFrom(values.db);
  if (values.pairs !== undefined) {
    const conflicting = (['top', 'users', 'users-file', 'block-size', 'rank-by', 'explain'] as const).filter(
      (f) => values[f] !== undefined,
    );
    if (conflicting.length > 0) throw new UsageError(`--pairs cannot be combined with ${conflicting.map((f) => `--${f}`).join(', ')}`);
    return { dbPath, out: values.out, mode: { kind: 'pairs', pairs: values.pairs, strict: values.strict ?? false } };
  }
  if (values.strict) throw new UsageError('--strict applies to --pairs only');
  if (values.users !== undefined && values['users-file'] !== undefined)
    throw new UsageError('give either --users or --users-file, not both');
  return {
    dbPath,
    out: values.out,
    mode: {
      kind: 'top',
      top: integerFlag(values.top ?? '10', 'top', 1, 1000)!,
      users: values.users,
      usersFile: values['users-file'],
      blockSize: integerFlag(values['block-size'], 'block-size', 1, 100_000),
      rankBy: parseRankBy(values['rank-by']),
      explain: values.explain ?? false,
    },
  };
}

export async function runScore(command: ScoreCommand): Promise<Record<string, unknown>> {
  const backend = await initBackend();
  const started = Date.now();
  const context = await openScoringContext(command.dbPath);
  const partial = `${command.out}.partial-${process.pid}`;
  const out = createWriteStream(partial);
  try {
    let summary: Record<string, unknown>;
    if (command.mode.kind === 'top') {
      const { mode } = command;
      const userIds =
        mode.users !== undefined
          ? parseUserIdList(mode.users)
          : mode.usersFile !== undefined
            ? await readUserIdsFile(mode.usersFile)
            : null;
      const total = userIds?.length ?? context.catalog.counts().users;
      // No users at all is shown as a bare count, like an unknown total.
      const progress = createProgress('scoring users', { total: total > 0 ? total : null, layout: 'throughput', plainLineEveryMs: 5000 });
      const result = await writeTopN({
        snapshot: context.snapshot,
        catalog: context.catalog,
        // All stored users unless chosen: iterated from SQLite lazily, never all in memory at once.
        userIds: userIds ?? context.catalog.iterateUserIds(),
        top: mode.top,
        out,
        blockSize: mode.blockSize,
        rankBy: mode.rankBy,
        explain: mode.explain,
        onUnknownUser: (userId) => process.stderr.write(`\nwarning: user ${userId} is not in the database, skipped\n`),
        onProgress: (done) => progress.update(done),
      });
      progress.finish(`${result.rows} rows`);
      summary = { mode: 'top', top: mode.top, ...result };
    } else {
      const { mode } = command;
      const size = statSync(mode.pairs).size;
      const progress = createProgress('scoring pairs', { layout: 'throughput', plainLineEveryMs: 5000 });
      let reported = 0;
      const result = await scorePairs({
        snapshot: context.snapshot,
        catalog: context.catalog,
        input: createReadStream(mode.pairs, 'utf8'),
        out,
        source: mode.pairs,
        strict: mode.strict,
        onBadRow: (error) => {
          // Every bad row is counted; the first hundred are listed (a wholly wrong file would flood).
          if (++reported <= 100) process.stderr.write(`\nskipped ${error.message}\n`);
          else if (reported === 101) process.stderr.write('\n(further bad rows are counted, not listed)\n');
        },
        onProgress: (done) => progress.update(done),
      });
      progress.finish(`${result.scored} scored, ${result.unscorable} unscorable, ${result.skipped} skipped`);
      summary = { mode: 'pairs', inputBytes: size, ...result };
    }
    out.end();
    await finished(out);
    renameSync(partial, command.out);
    return { ...summary, out: command.out, modelVersion: context.snapshot.versionId, backend, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    out.destroy();
    rmSync(partial, { force: true });
    throw err;
  } finally {
    await context.close();
  }
}

/** The whole command: parse, score, print the JSON summary on stdout. */
export async function scoreMain(argv: string[]): Promise<void> {
  const command = parseScoreArgs(argv);
  if (command === 'help') {
    process.stdout.write(`${SCORE_USAGE}\n`);
    return;
  }
  try {
    process.stdout.write(JSON.stringify(await runScore(command)) + '\n');
  } catch (error) {
    throw error instanceof BadRowError ? new Error(`bad row at ${error.message}`) : error;
  }
}
