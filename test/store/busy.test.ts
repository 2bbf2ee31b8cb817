/** A locked database: recognised as "busy", retried politely by the import, which says what it waits for. */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/importCommand.js';
import { isDatabaseBusy, openDatabase, retryWhileBusy, type Database } from '../../src/store/index.js';
import { FIXTURES, tempFolder } from '../helpers/dataFiles.js';

let temp: ReturnType<typeof tempFolder>;
let dbPath: string;
let holder: Database;
beforeEach(() => {
  temp = tempFolder();
  dbPath = join(temp.dir, 'busy.db');
  holder = openDatabase(dbPath);
});
afterEach(() => {
  if (holder.open) holder.close();
  temp.cleanup();
});

describe('busy database', () => {
  it('isDatabaseBusy recognises SQLITE_BUSY from a write blocked by another connection, and nothing else', () => {
    holder.exec('BEGIN IMMEDIATE');
    const other = openDatabase(dbPath, { busyTimeoutMs: 0 });
    try {
      let caught: unknown = null;
      try {
        other.prepare("INSERT INTO items (item_id, title, search_key) VALUES (1, 'x', 'x')").run();
      } catch (err) {
        caught = err;
      }
      expect(isDatabaseBusy(caught)).toBe(true);
      expect(isDatabaseBusy(new Error('database is locked'))).toBe(false);
      expect(isDatabaseBusy({ code: 'SQLITE_CONSTRAINT' })).toBe(false);
    } finally {
      other.close();
      holder.exec('ROLLBACK');
    }
  });

  it('retryWhileBusy backs off, reports each wait, and gives up after the last attempt', async () => {
    const waits: number[] = [];
    const busy = Object.assign(new Error('database is locked'), {
      code: 'SQLITE_BUSY',
    });
    let calls = 0;
    const result = await retryWhileBusy(
      () => {
        if (++calls < 3) throw busy;
        return 'done';
      },
      {
        initialDelayMs: 10,
        onWait: (_a, _n, delay) => waits.push(delay),
        sleep: async () => {},
      },
    );
    expect(result).toBe('done');
    expect(waits).toEqual([10, 20]);
    await expect(
      retryWhileBusy(
        () => {
          throw busy;
        },
        { attempts: 2, sleep: async () => {} },
      ),
    ).rejects.toBe(busy);
    const other = new Error('other');
    await expect(
      retryWhileBusy(
        () => {
          throw other;
        },
        { sleep: async () => {} },
      ),
    ).rejects.toBe(other);
  });

  it('retryWhileBusy with a total wait: the last wait shortened to fit, then the busy error', async () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    const waits: number[] = [];
    let calls = 0;
    await expect(
      retryWhileBusy(
        () => {
          calls++;
          throw busy;
        },
        { attempts: Infinity, initialDelayMs: 1, maxDelayMs: 16, maxTotalDelayMs: 50, sleep: async (ms) => void waits.push(ms) },
      ),
    ).rejects.toBe(busy);
    expect(waits).toEqual([1, 2, 4, 8, 16, 16, 3]);
    expect(calls).toBe(waits.length + 1);
  });

  it('the import waits for a writer holding the lock, says what it waits for, then imports', async () => {
    holder.exec('BEGIN IMMEDIATE'); // e.g. the server or a training run writing
    const messages: string[] = [];
    const stderr = {
      write: (text: string) => messages.push(text) > 0,
      isTTY: false,
    };
    const report = await runImport({ dataFolder: join(FIXTURES, 'dat'), dbPath }, stderr, {
      busyTimeoutMs: 0,
      initialDelayMs: 1,
      // The other writer commits while the import waits.
      sleep: async () => void (holder.inTransaction && holder.exec('COMMIT')),
    });
    expect(report.ratings).toBe(5);
    const waited = messages.filter((m) => m.includes('is locked by another writer'));
    expect(waited).toHaveLength(1);
    expect(waited[0]).toContain('the server storing ratings, a training run saving its model, or another import');
    expect(waited[0]).toContain('attempt 1 of 12 failed, retrying in');
  });
});
