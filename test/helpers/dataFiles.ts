/**
 * Test helpers for data files: where the fixtures and the real ML-100K live, temporary copies to corrupt,
 * and a full dump of a database to check that a failed import left it exactly as it was.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';

export const FIXTURES = fileURLToPath(new URL('../fixtures/movielens', import.meta.url));

/** The real MovieLens 100K, beside the repository (never copied into it). */
export const ML100K = process.env.ML100K_DIR ?? fileURLToPath(new URL('../../../shared/datasets/ml-100k', import.meta.url));

/** A fresh temporary folder; call the returned cleanup in afterEach. */
export function tempFolder(prefix = 'rbm-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Registers beforeEach/afterEach hooks in the calling file: a fresh temporary folder for each test,
 * removed after it. Read `dir` inside tests only.
 */
export function tempFolderEachTest(): { readonly dir: string } {
  let current: { dir: string; cleanup: () => void } | null = null;
  beforeEach(() => {
    current = tempFolder();
  });
  afterEach(() => {
    current?.cleanup();
    current = null;
  });
  return {
    get dir(): string {
      if (!current) throw new Error('tempFolderEachTest: dir is only there inside a test');
      return current.dir;
    },
  };
}

/** Copies `folder` into a new folder under `parent` and returns its path. */
export function copyFolder(folder: string, parent: string, name = 'copy'): string {
  const target = join(parent, name);
  cpSync(folder, target, { recursive: true });
  return target;
}

/** Replaces 1-based line `line` of a file (newline-separated) with `text`, keeping the file's encoding. */
export function replaceLine(path: string, line: number, text: string, encoding: BufferEncoding = 'latin1'): void {
  const lines = readFileSync(path, encoding).split('\n');
  if (line < 1 || line > lines.length) throw new Error(`${path} has no line ${line}`);
  lines[line - 1] = text;
  writeFileSync(path, lines.join('\n'), encoding);
}

/**
 * Every row of every table in a stable order, one JSON string per table (strings compare fast even for
 * 100,000 ratings): equal dumps mean equal databases. `ignore` lists "table.column"s to leave out, such as
 * datasets.imported_at, which a re-import legitimately refreshes.
 */
export function dumpDatabase(db: Database, ignore: readonly string[] = []): Record<string, string> {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const dump: Record<string, string> = {};
  for (const table of tables) {
    const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[])
      .map((c) => c.name)
      .filter((name) => !ignore.includes(`${table}.${name}`))
      .map((name) => `"${name}"`);
    const rows = db
      .prepare(`SELECT ${columns.join(', ')} FROM "${table}" ORDER BY ${columns.join(', ')}`)
      .raw()
      .all();
    dump[table] = JSON.stringify(rows);
  }
  return dump;
}
