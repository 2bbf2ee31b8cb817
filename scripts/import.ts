/**
 * npm run import -- --data <folder> [--db <path>]
 * Imports a MovieLens folder into the SQLite store (one transaction). Logic: src/cli/importCommand.ts.
 */
import { formatImportReport, IMPORT_USAGE, parseImportArgs, runImport, UsageError } from '../src/cli/importCommand.js';

try {
  const command = parseImportArgs(process.argv.slice(2));
  if (command === 'help') {
    process.stdout.write(`${IMPORT_USAGE}\n`);
  } else {
    const report = await runImport(command);
    process.stdout.write(`${formatImportReport(report)}\n`);
  }
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`import: ${error.message}\n${IMPORT_USAGE}\n`);
    process.exit(2);
  }
  // Expected failures (missing folder, malformed line) already say what, where and what was expected.
  process.stderr.write(`import failed, the database was not changed: ${(error as Error).message}\n`);
  process.exit(1);
}
