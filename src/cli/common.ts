/**
 * What every command line shares: the usage error, the default database path, flag parsing helpers, and
 * the runner that turns a command's outcome into output and an exit status. Scripts (scripts/*.ts) are
 * shims that call `runCommand`.
 */
import { dirname, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseStoreTarget } from '../store/target.js';
import { endProgress } from './progress.js';

export const DEFAULT_DB_PATH = 'data/recommender.db';

/** Bad command line: the script prints the message and the usage, and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The database a command uses: `--db`, else $DATABASE_URL, else $DB_PATH, else data/recommender.db. A
 * postgres:// or postgresql:// URL names PostgreSQL, a path a SQLite file; any other URL scheme is refused
 * here, for every command (store/target.ts decides).
 */
export function dbPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const [value, where] =
    flag !== undefined
      ? [flag, '--db']
      : env.DATABASE_URL !== undefined && env.DATABASE_URL !== ''
        ? [env.DATABASE_URL, 'DATABASE_URL']
        : env.DB_PATH !== undefined && env.DB_PATH !== ''
          ? [env.DB_PATH, 'DB_PATH']
          : [DEFAULT_DB_PATH, 'the default database'];
  try {
    parseStoreTarget(value, where);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return value;
}

/**
 * A local path for the files a command writes beside its database (training checkpoints, the CSV of API
 * ratings a replacing import exports): beside the SQLite file, or for PostgreSQL under data/ named after
 * the server and database (the password never appears in a file name).
 */
export function localPathBeside(db: string): string {
  const target = parseStoreTarget(db);
  if (target.engine === 'sqlite') return target.path;
  const url = new URL(target.url);
  const name = `${url.hostname || 'local'}_${url.port || '5432'}_${url.pathname.replace(/^\//, '') || 'postgres'}`.replace(
    /[^A-Za-z0-9_.-]/g,
    '_',
  );
  return join(dirname(DEFAULT_DB_PATH), `postgres-${name}.db`);
}

/** node:util parseArgs, strict, with its errors as UsageErrors. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** " from min to max", or nothing for a flag whose range is checked later (by the options it sets). */
const rangeText = (min: number, max: number): string => (Number.isFinite(min) || Number.isFinite(max) ? ` from ${min} to ${max}` : '');

/** An integer flag within [min, max] (any integer by default); undefined when absent. */
export function integerFlag(raw: string | undefined, flag: string, min = -Infinity, max = Infinity): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${flag} must be an integer${rangeText(min, max)}, got "${raw}"`);
  }
  return Number(raw);
}

/** A number flag within [min, max] (any finite number by default); undefined when absent. */
export function numberFlag(raw: string | undefined, flag: string, min = -Infinity, max = Infinity): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be a number${rangeText(min, max)}, got "${raw}"`);
  }
  return value;
}

/**
 * Runs a command as a script: usage errors exit 2 with the usage, other failures exit 1 with their
 * message (which says what, where and what was expected), success exits 0.
 */
export async function runCommand(name: string, usage: string, main: (argv: string[]) => Promise<void>): Promise<void> {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    endProgress();
    if (error instanceof UsageError) {
      process.stderr.write(`${name}: ${error.message}\n${usage}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
