/**
 * npm run token -- create --name <text> | list | revoke <id> [--db <path>]
 * API tokens for the write endpoints. Logic: src/cli/tokenCommand.ts.
 */
import { UsageError } from "../src/cli/importCommand.js";
import {
  parseTokenArgs,
  runTokenCommand,
  TOKEN_USAGE,
} from "../src/cli/tokenCommand.js";

try {
  const command = parseTokenArgs(process.argv.slice(2));
  process.stdout.write(
    `${command.action === "help" ? TOKEN_USAGE : runTokenCommand(command)}\n`,
  );
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`token: ${error.message}\n${TOKEN_USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`token: ${(error as Error).message}\n`);
  process.exit(1);
}
