/**
 * Integrity under concurrent use, with real processes and a real SQLite file:
 * - imports (separate processes) while the server stores posted ratings: every import succeeds (it takes
 *   the write lock up front and retries politely), the server never answers 500;
 * - a training run racing an import: the save is refused, nothing of the old catalog becomes current;
 * - the catalog generation moves only when an import changes something.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/importCommand.js';
import { trainAndSave } from '../../src/cli/trainCommand.js';
import { CatalogChangedError, SERVER_BUSY_TIMEOUT_MS } from '../../src/store/index.js';
import { copyFolder, FIXTURES } from '../helpers/dataFiles.js';
import { createFixture, fixtureCatalog, request, startApp, SOURCE, type Fixture, type RunningApp } from '../server/helpers.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function runImportProcess(folder: string, dbPath: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/import.ts', '--data', folder, '--db', dbPath], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let fixture: Fixture;
beforeEach(() => {
  fixture = createFixture();
});
afterEach(() => fixture.cleanup());

describe('imports while the server writes', () => {
  let app: RunningApp;
  afterEach(async () => app?.close());

  it('two concurrent imports both succeed while ratings are posted; the server answers 201 or 503, never 500', async () => {
    // A folder big enough that a re-import spends a while reading (validating 30,000 ratings against the
    // stored items) before its first write: the window in which a deferred transaction lost its snapshot.
    const folder = copyFolder(join(FIXTURES, '100k'), fixture.dir, 'ml-big');
    const lines = Array.from({ length: 30_000 }, (_, r) => `${Math.floor(r / 6) + 1}\t${(r % 6) + 1}\t${(r % 5) + 1}\t${880000000 + r}`);
    writeFileSync(join(folder, 'u.data'), lines.join('\n') + '\n');
    await runImport({ dataFolder: folder, dbPath: fixture.dbPath }, { write: () => true, isTTY: false });
    fixture.trainAndSave();
    fixture.db.pragma(`busy_timeout = ${SERVER_BUSY_TIMEOUT_MS}`); // as launch() sets it once listening
    app = await startApp(fixture);

    const imports = Promise.all([runImportProcess(folder, fixture.dbPath), runImportProcess(folder, fixture.dbPath)]);
    let importsDone = false;
    void imports.then(() => (importsDone = true));

    const statuses = new Map<number, number>();
    let missingRetryAfter = 0;
    // Post as fast as the server answers until both imports have finished (and at least 50 times).
    for (let n = 0; !importsDone || n < 50; n++) {
      const res = await request(`${app.url}/api/users/${(n % 5) + 1}/ratings`, {
        method: 'POST',
        headers: fixture.auth,
        json: { itemId: (n % 3) + 1, rating: (n % 5) + 1 },
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 503 && res.headers.get('retry-after') === null) missingRetryAfter++;
      if (res.status >= 400)
        expect(res.body.error).toMatchObject({
          code: expect.any(String),
          message: expect.any(String),
        });
    }
    const results = await imports;
    for (const result of results) {
      expect(result.stderr).not.toContain('import failed');
      // The write lock is taken at BEGIN and waited for (busy timeout): no attempt failed on a read
      // snapshot that went stale, which is what a deferred transaction upgrading to a write runs into.
      expect(result.stderr).not.toContain('is locked by another writer');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('imported ');
    }
    const unexpected = [...statuses.keys()].filter((s) => ![201, 503].includes(s));
    expect(unexpected).toEqual([]);
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    expect(missingRetryAfter).toBe(0);
  });
});

describe('training racing an import', () => {
  it('refuses to save a model trained on a catalog that an import replaced meanwhile', async () => {
    const first = fixture.trainAndSave();
    const renamed = fixtureCatalog(8);
    renamed.source = 'test:another-source';
    const error = await trainAndSave(
      fixture.db,
      { epochs: 1, hidden: 4 },
      {
        beforeSave: () => void fixture.catalog.importCatalog(renamed),
      },
    ).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(CatalogChangedError);
    expect((error as Error).message).toContain('the catalog changed while training');
    expect((error as Error).message).toContain('train again');
    // The replacement retired version `first`, and the refused model was not saved.
    expect(fixture.models.currentId()).toBeNull();
    expect(fixture.models.list().map((v) => v.id)).toEqual([first]);
  });

  it('refuses it too when an import of the same source changed ratings, and saves when the import changed nothing', async () => {
    const changed = fixtureCatalog();
    changed.ratings = changed.ratings.map((r, n) => (n === 0 ? { ...r, value: r.value === 5 ? 4 : 5 } : r));
    await expect(
      trainAndSave(fixture.db, { epochs: 1, hidden: 4 }, { beforeSave: () => void fixture.catalog.importCatalog(changed) }),
    ).rejects.toThrow(CatalogChangedError);

    const generation = fixture.catalog.generation();
    const saved = await trainAndSave(
      fixture.db,
      { epochs: 1, hidden: 4 },
      {
        beforeSave: () => {
          const summary = fixture.catalog.importCatalog(changed); // the same data again: nothing changes
          expect(summary).toMatchObject({
            changed: false,
            catalogGeneration: generation,
          });
        },
      },
    );
    expect(fixture.models.currentId()).toBe(saved.versionId);
    expect(fixture.models.current()?.catalogGeneration).toBe(generation);
  });
});

describe('catalog generation', () => {
  it('moves with every import that changes a row, and records which generation each version was trained on', () => {
    const g0 = fixture.catalog.generation();
    expect(fixture.catalog.importCatalog(fixtureCatalog())).toMatchObject({
      changed: false,
      catalogGeneration: g0,
    });
    const v1 = fixture.trainAndSave();
    expect(fixture.models.current()).toMatchObject({
      id: v1,
      catalogGeneration: g0,
    });

    const retitled = fixtureCatalog();
    retitled.items = retitled.items.map((item) => (item.itemId === 3 ? { ...item, title: 'Renamed (1982)' } : item));
    expect(fixture.catalog.importCatalog(retitled)).toMatchObject({
      changed: true,
      catalogGeneration: g0 + 1,
    });
    expect(
      fixture.catalog.importCatalog({
        ...fixtureCatalog(9),
        source: 'elsewhere',
      }),
    ).toMatchObject({
      changed: true,
      replacedSource: SOURCE,
      catalogGeneration: g0 + 2,
    });
  });
});
