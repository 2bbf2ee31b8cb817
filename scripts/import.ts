/** npm run import -- --data <folder> [--db <path>]: the shim; the command is src/cli/importCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { importMain, IMPORT_USAGE } from '../src/cli/importCommand.js';

await runCommand('import', IMPORT_USAGE, importMain);
