/**
 * Batch top-N (`npm run score -- --top N`): one row per (user, rank), the best-predicted unrated items,
 * the same as the API recommends; and the command line around it, run in-process and as a script.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import { parseScoreArgs, runScore, UsageError } from '../../src/cli/scoreCommand.js';
import { createFixture, request, SILENT_USER, startApp, USERS, ITEMS, type Fixture } from '../server/helpers.js';

const run = promisify(execFile);
let fixture: Fixture;

beforeAll(() => {
  fixture = createFixture();
  fixture.trainAndSave();
  // The scorer opens the file through its own connection, as the script does (WAL: both can read).
});

afterAll(() => fixture.cleanup());

const readCsv = (file: string): string[][] => Papa.parse<string[]>(readFileSync(file, 'utf8').trim()).data;

function topCommand(extra: string[], out: string) {
  const command = parseScoreArgs(['--db', fixture.dbPath, '--out', out, ...extra]);
  if (command === 'help') throw new Error('unexpected help');
  return command;
}

describe('score --top', () => {
  it("writes userId,rank,itemId,predicted,score for every stored user: the API's lists and values exactly", async () => {
    const out = path.join(fixture.dir, 'recs.csv');
    const summary = await runScore(topCommand(['--top', '4', '--block-size', '5'], out));
    expect(summary).toMatchObject({ mode: 'top', users: USERS + 1, rows: (USERS + 1) * 4, unknownUsers: 0 });
    const rows = readCsv(out);
    expect(rows[0]).toEqual(['userId', 'rank', 'itemId', 'predicted', 'score']);
    expect(rows).toHaveLength(1 + (USERS + 1) * 4);
    const byUser = new Map<number, string[][]>();
    for (const row of rows.slice(1)) byUser.set(Number(row[0]), [...(byUser.get(Number(row[0])) ?? []), row]);
    expect([...byUser.keys()]).toEqual([...Array.from({ length: USERS }, (_, n) => n + 1), SILENT_USER]);

    const app = await startApp(fixture);
    try {
      for (const [userId, userRows] of byUser) {
        expect(userRows.map((r) => Number(r[1]))).toEqual([1, 2, 3, 4]);
        const api = await request(`${app.url}/api/users/${userId}/recommendations?limit=4`);
        expect(userRows.map((r) => Number(r[2]))).toEqual(api.body.items.map((i: { itemId: number }) => i.itemId));
        userRows.forEach((r, n) => {
          expect(Number(r[3])).toBe(api.body.items[n].predicted);
          expect(Number(r[4])).toBe(api.body.items[n].score);
        });
      }
    } finally {
      await app.close();
    }
  });

  it('scores only the chosen users (--users, --users-file), warning about unknown ones', async () => {
    const out = path.join(fixture.dir, 'chosen.csv');
    const summary = await runScore(topCommand(['--top', '2', '--users', '3,4242,1'], out));
    expect(summary).toMatchObject({ users: 2, rows: 4, unknownUsers: 1 });
    expect(
      readCsv(out)
        .slice(1)
        .map((r) => r[0]),
    ).toEqual(['3', '3', '1', '1']);

    const usersFile = path.join(fixture.dir, 'users.csv');
    writeFileSync(usersFile, 'userId\n5\n\n6\n');
    await runScore(topCommand(['--top', '1', '--users-file', usersFile], out));
    expect(
      readCsv(out)
        .slice(1)
        .map((r) => r[0]),
    ).toEqual(['5', '6']);
  });

  it('a user who has rated almost everything gets what is left', async () => {
    const out = path.join(fixture.dir, 'few.csv');
    await runScore(topCommand(['--top', String(ITEMS)], out));
    const rows = readCsv(out)
      .slice(1)
      .filter((r) => r[0] === '1');
    expect(rows).toHaveLength(ITEMS - fixture.catalog.getUserRatings(1).length);
  });

  it('rejects bad command lines with a usage error', () => {
    expect(() => parseScoreArgs(['--top', '10'])).toThrow(UsageError);
    expect(() => parseScoreArgs(['--out', 'x.csv', '--top', '0'])).toThrow('--top must be an integer from 1 to 1000');
    expect(() => parseScoreArgs(['--out', 'x.csv', '--users', '1', '--users-file', 'f'])).toThrow('either --users or --users-file');
    expect(() => parseScoreArgs(['--out', 'x.csv', '--pairs', 'p.csv', '--top', '3'])).toThrow('--pairs cannot be combined with --top');
    expect(() => parseScoreArgs(['--out', 'x.csv', '--bogus'])).toThrow(UsageError);
    expect(() => parseScoreArgs(['--out', 'x.csv', '--strict'])).toThrow('--strict applies to --pairs only');
  });

  it('fails on a bad --users entry and leaves no output behind', async () => {
    const out = path.join(fixture.dir, 'bad-users.csv');
    await expect(runScore(topCommand(['--users', '1,x'], out))).rejects.toThrow('--users: entry 2 must be a non-negative integer');
    expect(readdirSync(fixture.dir).filter((f) => f.startsWith('bad-users.csv'))).toEqual([]);
  });
});

describe('scripts/score.ts', () => {
  it('scores pairs, skipping a bad row; with --strict exits 1 and writes nothing', async () => {
    const pairs = path.join(fixture.dir, 'pairs.csv');
    writeFileSync(pairs, 'userId,itemId\n1,3\n2,oops\n3,4\n');
    const out = path.join(fixture.dir, 'scored.csv');
    const ok = await run(process.execPath, ['--import', 'tsx', 'scripts/score.ts', '--db', fixture.dbPath, '--pairs', pairs, '--out', out]);
    expect(ok.stderr).toContain(`${pairs}:3: itemId must be a non-negative integer, got "oops"`);
    expect(JSON.parse(ok.stdout)).toMatchObject({ mode: 'pairs', rows: 3, scored: 2, skipped: 1 });
    expect(readCsv(out).map((r) => r.slice(0, 2))).toEqual([
      ['userId', 'itemId'],
      ['1', '3'],
      ['3', '4'],
    ]);

    const strictOut = path.join(fixture.dir, 'strict.csv');
    const strict = await run(process.execPath, [
      '--import',
      'tsx',
      'scripts/score.ts',
      '--db',
      fixture.dbPath,
      '--pairs',
      pairs,
      '--out',
      strictOut,
      '--strict',
    ]).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(strict?.code).toBe(1);
    expect(strict?.stderr).toContain(`bad row at ${pairs}:3`);
    expect(strict?.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(strictOut)).toBe(false);
    expect(readdirSync(fixture.dir).filter((f) => f.startsWith('strict.csv'))).toEqual([]);
  });

  it('exits 2 with the usage on an unknown flag', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'scripts/score.ts', '--frobnicate']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain("Unknown option '--frobnicate'");
    expect(err?.stderr).toContain('usage:');
  });
});
