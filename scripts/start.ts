/** npm start -- [--db <path>] [--port <n>] [--host <addr>]: the shim; the command is src/cli/startCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { START_USAGE, startMain } from '../src/cli/startCommand.js';

await runCommand('start', START_USAGE, startMain);
