/**
 * Batch scoring of given (user, item) pairs from CSV: streamed in and out, bad rows reported with their
 * line number and skipped, or fatal with `strict`; predictions equal the API's.
 */
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import { modelFromState } from '../../src/model/index.js';
import { buildSnapshot, type ModelSnapshot } from '../../src/serving/modelHolder.js';
import { BadRowError, scorePairs, type PairsSummary } from '../../src/scoring/pairs.js';
import { createFixture, request, startApp, type Fixture } from '../server/helpers.js';

let fixture: Fixture;
let snapshot: ModelSnapshot;

beforeAll(() => {
  fixture = createFixture();
  const id = fixture.trainAndSave();
  snapshot = buildSnapshot(fixture.models.load(id), fixture.catalog, modelFromState);
});

afterAll(() => fixture.cleanup());

/** A Writable collecting the text written to it. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function score(csv: string, options: { strict?: boolean; chunkRows?: number } = {}) {
  const out = sink();
  const bad: BadRowError[] = [];
  const summary: PairsSummary = await scorePairs({
    snapshot,
    catalog: fixture.catalog,
    // Tiny chunks of input text, so rows are split across reads as they are from a real file.
    input: Readable.from(csv.match(/[\s\S]{1,7}/g) ?? [], { objectMode: false }),
    out: out.stream,
    source: 'pairs.csv',
    strict: options.strict,
    chunkRows: options.chunkRows ?? 3,
    onBadRow: (e) => bad.push(e),
  });
  const rows = Papa.parse<string[]>(out.text().trim(), { skipEmptyLines: true }).data;
  return { summary, rows, bad };
}

describe('scorePairs', () => {
  it('appends predicted to every row, in input order, equal to the API predictions', async () => {
    const csv = 'userId,itemId\n3,10\n5,1\n3,11\n12,30\n5,2\n';
    const { summary, rows, bad } = await score(csv);
    expect(bad).toEqual([]);
    expect(summary).toEqual({ rows: 5, scored: 5, unscorable: 0, skipped: 0 });
    expect(rows[0]).toEqual(['userId', 'itemId', 'predicted']);
    expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ['3', '10'],
      ['5', '1'],
      ['3', '11'],
      ['12', '30'],
      ['5', '2'],
    ]);
    const app = await startApp(fixture);
    try {
      for (const [userId, itemId, predicted] of rows.slice(1)) {
        const api = await request(`${app.url}/api/users/${userId}/predictions?items=${itemId}`);
        expect(Number(predicted)).toBeCloseTo(api.body.predictions[0].predicted, 3);
      }
    } finally {
      await app.close();
    }
  });

  it('reports bad rows with their line numbers and skips them', async () => {
    const csv = ['userId,itemId', '3,10', 'x,10', '3', '4242,1', '3,99999', '', '4,-1', '4,5'].join('\n');
    const { summary, rows, bad } = await score(csv);
    expect(bad.map((e) => [e.line, e.reason])).toEqual([
      [3, 'userId must be a non-negative integer, got "x"'],
      [4, 'expected 2 fields, got 1'],
      [5, 'unknown user 4242'],
      [6, 'unknown item 99999'],
      [8, 'itemId must be a non-negative integer, got "-1"'],
    ]);
    expect(bad[0].message).toBe('pairs.csv:3: userId must be a non-negative integer, got "x"');
    expect(summary).toEqual({ rows: 7, scored: 2, unscorable: 0, skipped: 5 });
    expect(rows.slice(1).map((r) => r.slice(0, 2))).toEqual([
      ['3', '10'],
      ['4', '5'],
    ]);
  });

  it('fails on the first bad row in strict mode', async () => {
    await expect(score('userId,itemId\n3,10\n3,oops\n3,11\n', { strict: true })).rejects.toThrow(
      'pairs.csv:3: itemId must be a non-negative integer',
    );
  });

  it('reads files without a header, keeps extra columns, finds named columns in any order', async () => {
    const plain = await score('3,10,a\n5,1,b\n');
    expect(plain.rows[0]).toEqual(['userId', 'itemId', 'column3', 'predicted']);
    expect(plain.rows.slice(1).map((r) => r[2])).toEqual(['a', 'b']);
    const named = await score('note,movieId,userId\nx,10,3\n');
    expect(named.rows[0]).toEqual(['note', 'movieId', 'userId', 'predicted']);
    const byApiOrder = await score('userId,itemId\n3,10\n');
    expect(named.rows[1][3]).toBe(byApiOrder.rows[1][2]);
  });

  it('leaves predicted empty for an item newer than the model', async () => {
    fixture.catalog.importCatalog({
      source: 'test:server-fixture',
      layout: 'demo',
      items: [{ itemId: 600, title: 'Later Film (2031)', year: 2031, genres: [] }],
      ratings: [],
      ratingLevels: [1, 2, 3, 4, 5],
    });
    const { summary, rows } = await score('userId,itemId\n3,600\n3,1\n');
    expect(summary).toMatchObject({ scored: 1, unscorable: 1, skipped: 0 });
    expect(rows[1]).toEqual(['3', '600', '']);
  });

  it('rejects an empty file', async () => {
    await expect(score('')).rejects.toThrow('the file is empty');
  });
});
