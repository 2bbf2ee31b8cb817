/**
 * Batch scoring with the current model version:
 *
 *   npm run score -- [--db <path>] --top 10 --out recs.csv [--users 1,2,3 | --users-file f]
 *       → userId,rank,itemId,predicted for every chosen user (all stored users by default)
 *   npm run score -- [--db <path>] --pairs pairs.csv --out scored.csv [--strict]
 *       → each userId,itemId row with predicted appended; bad rows reported and skipped (or fatal)
 *
 * Progress goes to stderr, one JSON summary line to stdout. Logic: src/scoring.
 */
import { BadRowError } from '../src/scoring/pairs.js';
import { parseScoreArgs, runScore, SCORE_USAGE, UsageError } from '../src/scoring/cli.js';

try {
  const command = parseScoreArgs(process.argv.slice(2));
  if (command === 'help') {
    process.stdout.write(`${SCORE_USAGE}\n`);
  } else {
    const summary = await runScore(command);
    process.stdout.write(JSON.stringify(summary) + '\n');
  }
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`score: ${err.message}\n${SCORE_USAGE}\n`);
    process.exit(2);
  }
  // Expected failures (bad input file, no model, strict bad row) get their message, not a stack.
  process.stderr.write(`score: ${err instanceof BadRowError ? `bad row at ${err.message}` : (err as Error).message}\n`);
  process.exit(1);
}
