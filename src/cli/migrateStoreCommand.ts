/**
 * `npm run migrate-store -- --from <file.db> --to postgres://…`: moves a SQLite database into a new, empty
 * PostgreSQL database (store/migrateStore.ts), for going from one machine to several (docs/several-machines.md).
 */
import { existsSync } from 'node:fs';
import { openDatabase } from '../store/database.js';
import { migrateSqliteToPostgres } from '../store/migrateStore.js';
import { openPostgresStore } from '../store/postgres/index.js';
import { parseStoreTarget, redactUrl } from '../store/target.js';
import { parseFlags, UsageError } from './common.js';

export const MIGRATE_STORE_USAGE = `usage: npm run migrate-store -- --from <file.db> --to <postgres://user:password@host:port/database>
  --from <file.db>   the SQLite database to copy (left unchanged)
  --to <url>         a new, empty PostgreSQL database (its schema is created); refused if it holds anything
Everything is copied in one transaction: catalog, ratings written through the API, data set record,
catalog generation, model versions (the current one stays current) and API tokens (they keep working).`;

export interface MigrateStoreCommand {
  from: string;
  to: string;
}

export function parseMigrateStoreArgs(argv: string[]): MigrateStoreCommand | 'help' {
  const values = parseFlags(argv, { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) return 'help';
  if (values.from === undefined || values.to === undefined)
    throw new UsageError('--from <file.db> and --to <postgres://…> are both required');
  let from;
  let to;
  try {
    from = parseStoreTarget(values.from, '--from');
    to = parseStoreTarget(values.to, '--to');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (from.engine !== 'sqlite') throw new UsageError(`--from must be a SQLite file, got ${redactUrl(values.from)}`);
  if (to.engine !== 'postgres') throw new UsageError(`--to must be a postgres:// or postgresql:// URL, got "${values.to}"`);
  return { from: from.path, to: to.url };
}

export async function runMigrateStore(command: MigrateStoreCommand): Promise<string> {
  if (!existsSync(command.from)) throw new Error(`--from ${command.from}: no such file`);
  const sqlite = openDatabase(command.from);
  try {
    const target = await openPostgresStore(command.to);
    try {
      const started = performance.now();
      const summary = await migrateSqliteToPostgres(sqlite, target.pool);
      const rows = Object.entries(summary.rows)
        .map(([table, n]) => `  ${table.padEnd(20)} ${n.toLocaleString('en-US').padStart(12)}`)
        .join('\n');
      return [
        `copied ${command.from} into ${target.location} in ${((performance.now() - started) / 1000).toFixed(1)} s:`,
        rows,
        `  catalog generation ${summary.generation}; current model version ${summary.currentModel ?? 'none'}`,
      ].join('\n');
    } finally {
      await target.close();
    }
  } finally {
    sqlite.close();
  }
}

export async function migrateStoreMain(argv: string[]): Promise<void> {
  const command = parseMigrateStoreArgs(argv);
  process.stdout.write(`${command === 'help' ? MIGRATE_STORE_USAGE : await runMigrateStore(command)}\n`);
}
