/** npm run loadtest -- [options]: the shim; the command is src/cli/loadtestCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { LOADTEST_USAGE, loadtestMain } from '../src/cli/loadtestCommand.js';

await runCommand('loadtest', LOADTEST_USAGE, loadtestMain);
