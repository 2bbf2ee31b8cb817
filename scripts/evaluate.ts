/** npm run evaluate -- --data <folder> <split> [--algorithms …]: the shim; the command is src/cli/evaluateCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { EVALUATE_USAGE, evaluateMain } from '../src/cli/evaluateCommand.js';

await runCommand('evaluate', EVALUATE_USAGE, evaluateMain);
