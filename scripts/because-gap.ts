/** npm run because-gap -- [--db <path>] [--every <n>] [--top <n>]: the shim; the command is src/cli/becauseGapCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { BECAUSE_GAP_USAGE, becauseGapMain } from '../src/cli/becauseGapCommand.js';

await runCommand('because-gap', BECAUSE_GAP_USAGE, becauseGapMain);
