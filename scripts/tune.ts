/** npm run tune -- --data <folder> --split user-stratified [--grid …]: the shim; the command is src/cli/tuneCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { TUNE_USAGE, tuneMain } from '../src/cli/tuneCommand.js';

await runCommand('tune', TUNE_USAGE, tuneMain);
