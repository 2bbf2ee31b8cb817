/**
 * npm run score -- --top 10 --out recs.csv [--users …] | --pairs pairs.csv --out scored.csv [--strict]:
 * the shim; the command is src/cli/scoreCommand.ts.
 */
import { runCommand } from '../src/cli/common.js';
import { SCORE_USAGE, scoreMain } from '../src/cli/scoreCommand.js';

await runCommand('score', SCORE_USAGE, scoreMain);
