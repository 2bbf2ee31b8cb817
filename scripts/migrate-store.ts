/** npm run migrate-store -- --from <file.db> --to <postgres://…>: the shim; the command is src/cli/migrateStoreCommand.ts. */
import { runCommand } from '../src/cli/common.js';
import { MIGRATE_STORE_USAGE, migrateStoreMain } from '../src/cli/migrateStoreCommand.js';

await runCommand('migrate-store', MIGRATE_STORE_USAGE, migrateStoreMain);
