/** Rendering of an evaluation: the printed table and the SVG learning curves. */
import type { EpochReport } from '../model/index.js';
import type { EvaluationReport } from './crossValidate.js';

const f4 = (x: number): string => x.toFixed(4);

export function formatTable(report: EvaluationReport): string {
  const head = ['fold', 'RBM RMSE', 'RBM MAE', 'bias RMSE', 'mean RMSE', 'epochs', 'train s', 'fallback'];
  const rows = report.folds.map((f) => [f.name, f4(f.rmse), f4(f.mae), f4(f.baselines.bias.rmse), f4(f.baselines.globalMean.rmse), String(f.epochs), f.trainSeconds.toFixed(1), String(f.fallbackRatings)]);
  rows.push(['mean', f4(report.mean.rmse), f4(report.mean.mae), f4(report.baselines.bias.rmse), f4(report.baselines.globalMean.rmse), '', '', String(report.fallbackRatings)]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Train (reconstruction) and validation RMSE per epoch for every fold and orientation, as a standalone
 * SVG: x = epoch, y = RMSE; solid lines validation, dashed lines train.
 */
export function learningCurvesSvg(curves: { label: string; curve: EpochReport[] }[], title = 'Learning curves'): string {
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
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${m.left}" y="22" font-size="14">${escapeXml(title)}</text>`);
  for (let t = 0; t <= 5; t++) {
    const y = y0 + ((y1 - y0) * t) / 5;
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(3)}</text>`);
  }
  for (let t = 0; t <= 5; t++) {
    const x = 1 + ((xMax - 1) * t) / 5;
    parts.push(`<text x="${px(x)}" y="${height - m.bottom + 16}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 8}" text-anchor="middle">epoch</text>`);
  parts.push(`<text transform="translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">RMSE</text>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`);
  series.forEach((s, n) => {
    const color = palette[Math.floor(n / 2) % palette.length];
    const d = s.points.map((p, q) => `${q === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    const ly = m.top + 12 + n * 14;
    if (ly < height - 10) {
      parts.push(`<line x1="${width - m.right + 10}" x2="${width - m.right + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
      parts.push(`<text x="${width - m.right + 35}" y="${ly}">${escapeXml(s.label)}</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}
