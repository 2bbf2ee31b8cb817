/** npm run train -- [--db <path>] [--algorithm …] [model options]: the shim; the command is src/cli/trainCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { TRAIN_USAGE, trainMain } from '../src/cli/trainCommand.js';

await runCommand('train', TRAIN_USAGE, trainMain);
