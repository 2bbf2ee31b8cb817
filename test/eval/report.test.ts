/**
 * Evaluation output: the per-protocol table (null → "—", NaN → "n/a", column alignment) and the SVG
 * figure (one bar per algorithm that has a value, escaped names, learning curves stacked above the bars).
 */
import { describe, expect, it } from 'vitest';
import type { EpochReport } from '../../src/model/index.js';
import {
  alignColumns,
  evaluationSvg,
  formatAlgorithmTable,
  formatFigure,
  learningCurvesSvg,
  ndcgBarChartSvg,
  type AlgorithmRow,
} from '../../src/eval/report.js';

const row = (name: string, x: Partial<AlgorithmRow>): AlgorithmRow => ({
  name,
  rmse: null,
  mae: null,
  precision: null,
  recall: null,
  ndcg: null,
  map: null,
  hitRate: null,
  coverage: null,
  novelty: null,
  ...x,
});

describe('formatAlgorithmTable', () => {
  const rows = [
    row('blend', {
      rmse: 0.90681,
      mae: 0.7167,
      precision: 0.139,
      recall: 0.0812,
      ndcg: 0.16,
      map: 0.07,
      hitRate: 0.62,
      coverage: 0.21,
      novelty: 3.456,
    }),
    row('popular', { precision: 0.23, recall: 0.12, ndcg: 0.25, map: 0.11, hitRate: 0.8, coverage: 0.05, novelty: 1.2 }),
    row('random', { precision: NaN, recall: 0.01, ndcg: 0.012, map: 0.004, hitRate: 0.09, coverage: 1, novelty: 7.9 }),
  ];
  const table = formatAlgorithmTable(rows, { k: 10, title: 'user-stratified 0.25, k = 10, relevant: all' });
  const lines = table.split('\n');

  it('has a title, a header with k in the ranking columns, a rule and one row per algorithm in order', () => {
    expect(lines[0]).toBe('user-stratified 0.25, k = 10, relevant: all');
    expect(lines[1].split(/\s+/)).toEqual([
      'algorithm',
      'RMSE',
      'MAE',
      'P@10',
      'R@10',
      'nDCG@10',
      'MAP@10',
      'HR@10',
      'coverage',
      'novelty',
    ]);
    expect(lines[2]).toMatch(/^-+( {2}-+){9}$/);
    expect(lines.slice(3).map((l) => l.split(/\s+/)[0])).toEqual(['blend', 'popular', 'random']);
  });

  it('prints 4 decimals, novelty in 2, "—" for a figure the algorithm cannot produce, "n/a" for NaN', () => {
    expect(lines[3].split(/\s+/)).toEqual([
      'blend',
      '0.9068',
      '0.7167',
      '0.1390',
      '0.0812',
      '0.1600',
      '0.0700',
      '0.6200',
      '0.2100',
      '3.46',
    ]);
    expect(lines[4].split(/\s+/).slice(1, 3)).toEqual(['—', '—']);
    expect(lines[5].split(/\s+/)[3]).toBe('n/a');
  });

  it('right-aligns every numeric column: each cell ends where its header ends', () => {
    const header = lines[1];
    const ends = ['RMSE', 'MAE', 'P@10', 'nDCG@10', 'novelty'].map((h) => header.indexOf(h) + h.length);
    for (const line of lines.slice(3)) {
      expect(line.length).toBe(header.length);
      for (const end of ends) expect(line[end - 1]).not.toBe(' ');
      for (const end of ends.slice(0, -1)) expect(line[end]).toBe(' ');
    }
    expect(lines[4].indexOf('—')).toBe(header.indexOf('RMSE') + 'RMSE'.length - 1);
  });

  it('adds a users column only when a row carries users (Given-N)', () => {
    const given = formatAlgorithmTable([row('bias', { rmse: 1.01, users: 84 }), row('popular', { users: null })], { k: 5 }).split('\n');
    expect(given[0].split(/\s+/).at(-1)).toBe('users');
    expect(given[2].split(/\s+/).at(-1)).toBe('84');
    expect(given[3].split(/\s+/).at(-1)).toBe('—');
  });

  it('figures and rows are checked', () => {
    expect(formatFigure(null)).toBe('—');
    expect(formatFigure(undefined)).toBe('—');
    expect(formatFigure(NaN)).toBe('n/a');
    expect(formatFigure(0.5, 2)).toBe('0.50');
    expect(() => alignColumns(['a', 'b'], [['x']])).toThrow(/table row 1 has 1 cells, the header has 2/);
  });
});

describe('SVG figures', () => {
  const bars = [
    { name: 'blend', value: 0.16 },
    { name: 'pop<ular> & "co"', value: 0.25 },
    { name: 'random', value: 0.012 },
    { name: 'bias', value: null },
  ];

  it('draws one bar per algorithm with a value, names escaped, the null one labelled "—"', () => {
    const svg = ndcgBarChartSvg(bars, 10);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect class="bar"/g)?.length).toBe(3);
    expect(svg).toContain('pop&lt;ular&gt; &amp; &quot;co&quot;');
    expect(svg).not.toContain('pop<ular>');
    expect(svg).toContain('>—</text>');
    expect(svg).toContain('nDCG@10 per algorithm');
    // The tallest bar is the largest value: heights follow the values.
    const heights = [...svg.matchAll(/<rect class="bar" data-name="([^"]*)"[^>]* height="([\d.]+)"/g)].map(
      (m) => [m[1], Number(m[2])] as const,
    );
    expect(heights.map((h) => h[0])).toEqual(['blend', 'pop&lt;ular&gt; &amp; &quot;co&quot;', 'random']);
    expect(heights[1][1]).toBeGreaterThan(heights[0][1]);
    expect(heights[0][1]).toBeGreaterThan(heights[2][1]);
    expect(heights[0][1] / heights[1][1]).toBeCloseTo(0.16 / 0.25, 2);
  });

  it('stacks the learning curves above one chart per protocol in one document', () => {
    const curve: EpochReport[] = [1, 2, 3].map((epoch) => ({
      phase: 'user',
      epoch,
      cdSteps: 1,
      trainRmse: 1 - epoch / 10,
      validationRmse: 1.1 - epoch / 20,
      seconds: 0.1,
    }));
    const svg = evaluationSvg({
      curves: [{ label: 'fold1', curve }],
      charts: [
        { title: 'stratified', metric: 'nDCG@10', bars },
        { title: 'Given-5', metric: 'nDCG@10', bars: bars.slice(0, 2) },
      ],
    });
    expect(svg.match(/<svg /g)?.length).toBe(1);
    expect(svg.match(/<rect class="bar"/g)?.length).toBe(5);
    expect(svg).toContain('<g transform="translate(0 420)">');
    expect(svg).toContain('<g transform="translate(0 720)">');
    expect(svg).toMatch(/height="1020"/);
    expect(svg).toContain('fold1 user validation');
    // The learning curves alone still render as before, as their own document.
    expect(learningCurvesSvg([{ label: 'fold1', curve }])).toContain('fold1 user train');
    expect(() => evaluationSvg({})).toThrow(/nothing to draw/);
  });
});

describe('learning-curve axis', () => {
  it('labels whole epochs without repeating one', () => {
    const curve: EpochReport[] = [1, 2, 3, 4, 5].map((epoch) => ({
      phase: 'item',
      epoch,
      cdSteps: 1,
      trainRmse: 1,
      validationRmse: null,
      seconds: 0,
    }));
    const labels = [...learningCurvesSvg([{ label: 'f', curve }]).matchAll(/text-anchor="middle">(\d+)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['1', '2', '3', '4', '5']);
  });
});
