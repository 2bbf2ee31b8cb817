/**
 * Rendering of an evaluation: the printed tables (per fold for the served model; per protocol with one row
 * per algorithm) and the SVG figures (learning curves, nDCG@k bars), stacked in one SVG file.
 */
import type { EpochReport } from '../model/index.js';
import type { EvaluationReport } from './crossValidate.js';
import type { PairedDifference } from './paired.js';
import type { AlgorithmFigures } from './runner.js';

const f4 = (x: number): string => x.toFixed(4);

/**
 * Aligns a table for the terminal: the first `leftColumns` columns left-aligned (names), the others
 * right-aligned (numbers), two spaces between columns, a dashed rule under the header. Widths count
 * UTF-16 code units, which equals the display width for the characters used here ("—" included).
 */
export function alignColumns(head: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  for (const [n, row] of rows.entries()) {
    if (row.length !== head.length) throw new Error(`table row ${n + 1} has ${row.length} cells, the header has ${head.length}`);
  }
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatTable(report: EvaluationReport): string {
  const head = ['fold', 'RBM RMSE', 'RBM MAE', 'bias RMSE', 'mean RMSE', 'epochs', 'train s', 'fallback'];
  const rows = report.folds.map((f) => [
    f.name,
    f4(f.rmse),
    f4(f.mae),
    f4(f.baselines.bias.rmse),
    f4(f.baselines.globalMean.rmse),
    String(f.epochs),
    f.trainSeconds.toFixed(1),
    String(f.fallbackRatings),
  ]);
  rows.push([
    'mean',
    f4(report.mean.rmse),
    f4(report.mean.mae),
    f4(report.baselines.bias.rmse),
    f4(report.baselines.globalMean.rmse),
    '',
    '',
    String(report.fallbackRatings),
  ]);
  return alignColumns(head, rows);
}

/** One algorithm's figures under one protocol (null = the algorithm cannot produce that figure). */
export interface AlgorithmRow extends AlgorithmFigures {
  name: string;
  /** Users measured (Given-N); a "users" column appears when any row sets it. */
  users?: number | null;
}

/** A figure for the table: "—" when the algorithm cannot produce it (null), "n/a" when nothing was measured (NaN). */
export function formatFigure(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '—';
  if (Number.isNaN(x)) return 'n/a';
  return x.toFixed(digits);
}

/**
 * The table of one protocol: one row per algorithm, columns RMSE, MAE, P@k, R@k, nDCG@k, MAP@k, HR@k,
 * coverage, novelty (bits, 2 decimals) and, for Given-N, users. Rows keep the order given.
 */
export function formatAlgorithmTable(rows: readonly AlgorithmRow[], options: { k: number; title?: string }): string {
  const { k } = options;
  const withUsers = rows.some((r) => r.users !== undefined && r.users !== null);
  const head = [
    'algorithm',
    'RMSE',
    'MAE',
    `P@${k}`,
    `R@${k}`,
    `nDCG@${k}`,
    `MAP@${k}`,
    `HR@${k}`,
    'coverage',
    'novelty',
    ...(withUsers ? ['users'] : []),
  ];
  const cells = rows.map((r) => [
    r.name,
    formatFigure(r.rmse),
    formatFigure(r.mae),
    formatFigure(r.precision),
    formatFigure(r.recall),
    formatFigure(r.ndcg),
    formatFigure(r.map),
    formatFigure(r.hitRate),
    formatFigure(r.coverage),
    formatFigure(r.novelty, 2),
    ...(withUsers ? [formatFigure(r.users, 0)] : []),
  ]);
  const table = alignColumns(head, cells);
  return options.title ? `${options.title}\n${table}` : table;
}

/**
 * The paired differences of one protocol: the reference minus each other algorithm, per list metric, as
 * "Δ ± SE" (paired.ts), with a closing line on reading them. Empty when there is nothing to compare.
 */
export function formatPairedTable(
  reference: string,
  rows: readonly ({ name: string } & PairedDifference)[],
  options: { k: number },
): string {
  if (rows.length === 0) return '';
  const { k } = options;
  const cell = (d: { mean: number; standardError: number }): string =>
    Number.isNaN(d.mean) ? 'n/a' : `${d.mean >= 0 ? '+' : '−'}${Math.abs(d.mean).toFixed(4)} ± ${formatFigure(d.standardError)}`;
  const head = ['algorithm', `ΔP@${k}`, `ΔR@${k}`, `ΔnDCG@${k}`, `ΔMAP@${k}`, 'users'];
  const cells = rows.map((r) => [
    r.name,
    cell(r.difference.precision),
    cell(r.difference.recall),
    cell(r.difference.ndcg),
    cell(r.difference.map),
    String(r.users),
  ]);
  return [
    `${reference} minus each algorithm, paired over the same users (mean ± standard error; |Δ| < 2 SE: within one split's noise)`,
    alignColumns(head, cells),
  ].join('\n');
}

/** A block of SVG content drawn in its own width × height box from (0, 0); panels stack vertically. */
interface Panel {
  width: number;
  height: number;
  body: string[];
}

/** One SVG document holding the panels one above the other, on a white background. */
function svgDocument(panels: readonly Panel[]): string {
  const width = Math.max(...panels.map((p) => p.width));
  const height = panels.reduce((h, p) => h + p.height, 0);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  ];
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  let y = 0;
  for (const p of panels) {
    parts.push(y === 0 ? '<g>' : `<g transform="translate(0 ${y})">`, ...p.body, '</g>');
    y += p.height;
  }
  parts.push('</svg>');
  return parts.join('\n');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/**
 * Train (reconstruction) and validation RMSE per epoch for every fold and orientation, as a standalone
 * SVG: x = epoch, y = RMSE; solid lines validation, dashed lines train.
 */
export function learningCurvesSvg(curves: { label: string; curve: EpochReport[] }[], title = 'Learning curves'): string {
  return svgDocument([learningCurvesPanel(curves, title)]);
}

function learningCurvesPanel(curves: { label: string; curve: EpochReport[] }[], title: string): Panel {
  const width = 760;
  const height = 420;
  const m = { left: 60, right: 200, top: 40, bottom: 45 };
  const series: { label: string; dashed: boolean; points: [number, number][] }[] = [];
  for (const { label, curve } of curves) {
    const phases = [...new Set(curve.map((r) => r.phase))];
    for (const phase of phases) {
      const rows = curve.filter((r) => r.phase === phase);
      series.push({ label: `${label} ${phase} train`, dashed: true, points: rows.map((r) => [r.epoch, r.trainRmse]) });
      const val = rows.filter((r) => r.validationRmse !== null).map((r): [number, number] => [r.epoch, r.validationRmse as number]);
      if (val.length) series.push({ label: `${label} ${phase} validation`, dashed: false, points: val });
    }
  }
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const xMax = Math.max(2, ...xs);
  const yMin = ys.length ? Math.min(...ys) : 0;
  const yMax = ys.length ? Math.max(...ys) : 1;
  const pad = (yMax - yMin) * 0.05 || 0.05;
  const [y0, y1] = [yMin - pad, yMax + pad];
  const px = (x: number): number => m.left + ((x - 1) / (xMax - 1)) * (width - m.left - m.right);
  const py = (y: number): number => m.top + (1 - (y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const palette = PALETTE;
  const parts: string[] = [];
  parts.push(`<text x="${m.left}" y="22" font-size="14">${escapeXml(title)}</text>`);
  for (let t = 0; t <= 5; t++) {
    const y = y0 + ((y1 - y0) * t) / 5;
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(3)}</text>`);
  }
  // Whole epochs only, at most about six ticks (fractional ticks rounded would repeat a label).
  const xStep = Math.max(1, Math.ceil((xMax - 1) / 5));
  for (let x = 1; x <= xMax; x += xStep) {
    parts.push(`<text x="${px(x)}" y="${height - m.bottom + 16}" text-anchor="middle">${x}</text>`);
  }
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 8}" text-anchor="middle">epoch</text>`);
  parts.push(`<text transform="translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">RMSE</text>`);
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`,
  );
  series.forEach((s, n) => {
    const color = palette[Math.floor(n / 2) % palette.length];
    const d = s.points.map((p, q) => `${q === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    const ly = m.top + 12 + n * 14;
    if (ly < height - 10) {
      parts.push(
        `<line x1="${width - m.right + 10}" x2="${width - m.right + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      );
      parts.push(`<text x="${width - m.right + 35}" y="${ly}">${escapeXml(s.label)}</text>`);
    }
  });
  return { width, height, body: parts };
}

/** One bar: an algorithm's nDCG@k, or null when it has none (drawn as "—", no bar). */
export interface MetricBar {
  name: string;
  value: number | null;
}

export interface BarChart {
  title: string;
  /** Axis label, e.g. "nDCG@10". */
  metric: string;
  bars: readonly MetricBar[];
}

/** nDCG@k per algorithm as a standalone SVG bar chart. */
export function ndcgBarChartSvg(bars: readonly MetricBar[], k: number, title = `nDCG@${k} per algorithm`): string {
  return svgDocument([barChartPanel({ title, metric: `nDCG@${k}`, bars })]);
}

/**
 * The evaluation figure written beside the JSON: the learning curves (when there are any) above one bar
 * chart per protocol (e.g. nDCG@k per algorithm on the stratified split, then on each Given-N).
 */
export function evaluationSvg(figure: {
  curves?: { label: string; curve: EpochReport[] }[];
  curvesTitle?: string;
  charts?: readonly BarChart[];
}): string {
  const panels: Panel[] = [];
  if (figure.curves && figure.curves.length > 0) panels.push(learningCurvesPanel(figure.curves, figure.curvesTitle ?? 'Learning curves'));
  for (const chart of figure.charts ?? []) panels.push(barChartPanel(chart));
  if (panels.length === 0) throw new Error('evaluation figure: nothing to draw (expected learning curves or at least one bar chart)');
  return svgDocument(panels);
}

/**
 * Vertical bars from 0, y axis 0 … 1.1 · the largest value (a metric in [0, 1] keeps its scale readable
 * even when every value is small), value printed above each bar, algorithm name below. A bar of null or
 * NaN is not drawn; its value reads "—" (null) or "n/a" (NaN).
 */
function barChartPanel(chart: BarChart): Panel {
  const width = 760;
  const height = 300;
  const m = { left: 60, right: 20, top: 40, bottom: 55 };
  const values = chart.bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = values.length && Math.max(...values) > 0 ? Math.max(...values) * 1.1 : 1;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const py = (y: number): number => m.top + (1 - y / yMax) * plotH;
  const slot = plotW / Math.max(1, chart.bars.length);
  const barW = Math.min(60, slot * 0.6);
  const parts: string[] = [];
  parts.push(`<text x="${m.left}" y="22" font-size="14">${escapeXml(chart.title)}</text>`);
  for (let t = 0; t <= 5; t++) {
    const y = (yMax * t) / 5;
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(3)}</text>`);
  }
  parts.push(
    `<text transform="translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.metric)}</text>`,
  );
  chart.bars.forEach((b, n) => {
    const cx = m.left + slot * (n + 0.5);
    const color = PALETTE[n % PALETTE.length];
    const drawn = b.value !== null && Number.isFinite(b.value);
    if (drawn) {
      const v = b.value as number;
      const top = py(v);
      parts.push(
        `<rect class="bar" data-name="${escapeXml(b.name)}" x="${(cx - barW / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(m.top + plotH - top).toFixed(1)}" fill="${color}"/>`,
      );
    }
    const label = drawn ? (b.value as number).toFixed(4) : formatFigure(b.value);
    const labelY = drawn ? py(b.value as number) - 4 : m.top + plotH - 4;
    parts.push(`<text x="${cx.toFixed(1)}" y="${labelY.toFixed(1)}" text-anchor="middle">${label}</text>`);
    parts.push(`<text x="${cx.toFixed(1)}" y="${height - m.bottom + 16}" text-anchor="middle">${escapeXml(b.name)}</text>`);
  });
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#999"/>`);
  return { width, height, body: parts };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}
