/** npm run token -- create --name <text> | list | revoke <id> [--db <path>]: the shim; the command is src/cli/tokenCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { TOKEN_USAGE, tokenMain } from '../src/cli/tokenCommand.js';

await runCommand('token', TOKEN_USAGE, tokenMain);
