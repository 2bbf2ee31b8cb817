/** `npm run token -- create|list|revoke`: argument parsing, the commands, and the script's exit codes. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/importCommand.js';
import { parseTokenArgs, runTokenCommand } from '../../src/cli/tokenCommand.js';
import { openStore } from '../../src/store/index.js';
import { tempFolder } from '../helpers/dataFiles.js';
import { newDatabase, STORE_ENGINES, useEngines } from '../helpers/storeEngines.js';

useEngines();

const REPO = fileURLToPath(new URL('../..', import.meta.url));

let temp: ReturnType<typeof tempFolder>;
let dbPath: string;
beforeEach(() => {
  temp = tempFolder();
  dbPath = join(temp.dir, 'tokens.db');
});
afterEach(() => temp.cleanup());

describe('parseTokenArgs', () => {
  it('reads create --name, list, revoke <id> and the database', () => {
    expect(parseTokenArgs(['create', '--name', 'batch job', '--db', 'x.db'], {})).toEqual({
      action: 'create',
      name: 'batch job',
      dbPath: 'x.db',
    });
    expect(parseTokenArgs(['list'], { DB_PATH: 'env.db' })).toEqual({
      action: 'list',
      dbPath: 'env.db',
    });
    expect(parseTokenArgs(['revoke', '12'], {})).toMatchObject({
      action: 'revoke',
      id: 12,
    });
    expect(parseTokenArgs(['--help'], {})).toEqual({ action: 'help' });
    // DATABASE_URL names the database when --db is absent, before DB_PATH.
    expect(parseTokenArgs(['list'], { DATABASE_URL: 'postgres://u@db/recs', DB_PATH: 'env.db' })).toMatchObject({
      dbPath: 'postgres://u@db/recs',
    });
  });

  it('refuses a database URL of another scheme instead of taking it for a file path', () => {
    expect(() => parseTokenArgs(['list', '--db', 'mysql://root@db/recs'], {})).toThrow(UsageError);
    expect(() => parseTokenArgs(['list'], { DATABASE_URL: 'http://example.com/db' })).toThrow(
      'DATABASE_URL: "http://example.com/db" is a http: URL',
    );
  });

  it('says what is wrong with a bad command line', () => {
    expect(() => parseTokenArgs([], {})).toThrow('a command is required: create, list or revoke');
    expect(() => parseTokenArgs(['make'], {})).toThrow('unknown command "make"');
    expect(() => parseTokenArgs(['create'], {})).toThrow('create needs --name <text>');
    expect(() => parseTokenArgs(['revoke', 'abc'], {})).toThrow('revoke needs one token id');
    expect(() => parseTokenArgs(['list', '--bogus'], {})).toThrow(UsageError);
  });
});

describe.each(STORE_ENGINES)('runTokenCommand on %s', (engine) => {
  it('creates a token shown once, lists it by its first characters, and revokes it', async () => {
    const db = await newDatabase(engine, 'tokens');
    const created = await runTokenCommand({ action: 'create', name: 'web importer', dbPath: db });
    const token = /^ {2}(rbm_\S+)$/m.exec(created)?.[1];
    expect(token).toMatch(/^rbm_[A-Za-z0-9_-]{43}$/);

    const listed = await runTokenCommand({ action: 'list', dbPath: db });
    expect(listed).toContain('web importer');
    expect(listed).toContain(`${token!.slice(0, 10)}…`);
    expect(listed).not.toContain(token!);
    expect(listed).toContain('valid');

    const store = await openStore(db);
    try {
      const id = await store.tokens.verify(token!);
      expect(id).not.toBeNull();
      expect(await runTokenCommand({ action: 'revoke', id: id!, dbPath: db })).toContain('revoked API token');
      expect(await store.tokens.verify(token!)).toBeNull();
      await expect(runTokenCommand({ action: 'revoke', id: 999, dbPath: db })).rejects.toThrow('no API token with id 999');
    } finally {
      await store.close();
    }
  });
});

describe('the token script', () => {
  it('the script exits 2 with the usage on a bad command line, 0 on list', () => {
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/token.ts', 'mint'], { cwd: REPO, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command "mint"');
    expect(bad.stderr).toContain('usage: npm run token');
    const list = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/token.ts', 'list', '--db', dbPath], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('no API tokens');
  });
});
