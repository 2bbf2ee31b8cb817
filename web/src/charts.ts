/**
 * Inline SVG charts: the small predicted-distribution bars shown with every recommendation, and the line
 * chart of the training curve. Both carry a text alternative (aria-label / a data table) so the numbers
 * are available without seeing the picture.
 */
import { h, svg } from './dom.js';
import { formatLevel, formatPercent, starsLabel } from './format.js';

/** Text alternative of a distribution: "1 star 2%, 2 stars 8%, …". */
export function describeDistribution(distribution: readonly number[], levels: readonly number[]): string {
  return levels.map((level, k) => `${starsLabel(level)} ${formatPercent(distribution[k] ?? 0)}`).join(', ');
}

/**
 * p(rating = level_k) as K bars, scaled so the most likely level fills the height; the most likely level
 * is drawn in the accent colour. The level values are printed under the first and last bar.
 */
export function distributionChart(distribution: readonly number[], levels: readonly number[]): SVGSVGElement {
  const k = levels.length;
  const barWidth = k > 6 ? 7 : 11;
  const gap = k > 6 ? 2 : 3;
  const barsHeight = 26;
  const labelHeight = 11;
  const width = k * barWidth + (k - 1) * gap;
  const height = barsHeight + labelHeight;
  const max = Math.max(...distribution, 1e-9);
  let mode = 0;
  distribution.forEach((p, i) => {
    if (p > distribution[mode]) mode = i;
  });
  const label = `Predicted rating distribution: ${describeDistribution(distribution, levels)}`;
  const chart = svg('svg', {
    class: 'dist-chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label,
  });
  chart.append(svg('title', {}, label));
  for (let i = 0; i < k; i++) {
    const p = distribution[i] ?? 0;
    const barHeight = Math.max(1.5, (p / max) * barsHeight);
    const x = i * (barWidth + gap);
    chart.append(svg('rect', { class: 'dist-track', x, y: 0, width: barWidth, height: barsHeight, rx: 1.5 }));
    chart.append(
      svg('rect', {
        class: i === mode ? 'dist-bar dist-bar-mode' : 'dist-bar',
        x,
        y: barsHeight - barHeight,
        width: barWidth,
        height: barHeight,
        rx: 1.5,
      }),
    );
  }
  const labelY = height - 1;
  chart.append(svg('text', { class: 'dist-label', x: 0, y: labelY, 'text-anchor': 'start' }, formatLevel(levels[0])));
  chart.append(svg('text', { class: 'dist-label', x: width, y: labelY, 'text-anchor': 'end' }, formatLevel(levels[k - 1])));
  return chart;
}

export interface Series {
  name: string;
  /** CSS class giving the colour (stroke) of the line and its legend swatch. */
  colorClass: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const rawStep = (max - min) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rawStep) ?? rawStep;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
}

function tickLabel(value: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const decimals = step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step) + 1e-9));
  return value.toFixed(decimals);
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Width in CSS pixels; the chart is redrawn when its container is resized. */
  width: number;
}

/** A line chart with axes, grid lines, axis titles and an HTML legend beneath. */
export function lineChart(options: LineChartOptions): HTMLElement {
  const { series, xLabel, yLabel } = options;
  const width = Math.max(280, Math.round(options.width));
  const compact = width < 480;
  const height = compact ? 220 : 300;
  const margin = { top: 14, right: compact ? 12 : 20, bottom: 44, left: 62 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;

  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xMin = Math.min(...all.map((p) => p.x));
  const xMax = Math.max(...all.map((p) => p.x));
  let yMin = Math.min(...all.map((p) => p.y));
  let yMax = Math.max(...all.map((p) => p.y));
  const pad = (yMax - yMin) * 0.08 || 0.05;
  yMin -= pad;
  yMax += pad;
  const xTicks = niceTicks(xMin, xMax, compact ? 4 : 8).filter((t) => Number.isInteger(t));
  const yTicks = niceTicks(yMin, yMax, 5);
  const sx = (x: number): number => margin.left + (xMax > xMin ? ((x - xMin) / (xMax - xMin)) * plotWidth : plotWidth / 2);
  const sy = (y: number): number => margin.top + plotHeight - ((y - yMin) / (yMax - yMin)) * plotHeight;

  const chart = svg('svg', {
    class: 'line-chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `${options.title}: ${yLabel} by ${xLabel} for ${series.map((s) => s.name).join(', ')}. The data are in the table below.`,
  });
  const grid = svg('g', { class: 'chart-grid' });
  for (const t of yTicks) {
    const y = sy(t);
    if (y < margin.top - 0.5 || y > margin.top + plotHeight + 0.5) continue;
    grid.append(svg('line', { x1: margin.left, x2: margin.left + plotWidth, y1: y, y2: y }));
    grid.append(svg('text', { class: 'chart-tick', x: margin.left - 8, y: y + 4, 'text-anchor': 'end' }, tickLabel(t, yTicks)));
  }
  for (const t of xTicks) {
    const x = sx(t);
    grid.append(svg('line', { class: 'chart-xtick', x1: x, x2: x, y1: margin.top + plotHeight, y2: margin.top + plotHeight + 5 }));
    grid.append(svg('text', { class: 'chart-tick', x, y: margin.top + plotHeight + 19, 'text-anchor': 'middle' }, String(t)));
  }
  chart.append(grid);
  chart.append(
    svg('line', {
      class: 'chart-axis',
      x1: margin.left,
      x2: margin.left + plotWidth,
      y1: margin.top + plotHeight,
      y2: margin.top + plotHeight,
    }),
    svg('line', { class: 'chart-axis', x1: margin.left, x2: margin.left, y1: margin.top, y2: margin.top + plotHeight }),
    svg('text', { class: 'chart-axis-title', x: margin.left + plotWidth / 2, y: height - 6, 'text-anchor': 'middle' }, xLabel),
    svg(
      'text',
      {
        class: 'chart-axis-title',
        transform: `translate(13 ${margin.top + plotHeight / 2}) rotate(-90)`,
        'text-anchor': 'middle',
      },
      yLabel,
    ),
  );

  for (const s of series) {
    const points = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (points.length === 0) continue;
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`).join(' ');
    const group = svg('g', { class: `chart-series ${s.colorClass}`, 'data-series': s.name });
    group.append(svg('path', { class: s.dashed ? 'chart-line chart-line-dashed' : 'chart-line', d }));
    if (points.length <= 40) {
      for (const p of points) group.append(svg('circle', { class: 'chart-point', cx: sx(p.x), cy: sy(p.y), r: 2.5 }));
    }
    chart.append(group);
  }

  const legend = h(
    'ul',
    { class: 'chart-legend', 'aria-hidden': 'true' },
    ...series.map((s) => h('li', { class: s.colorClass }, swatch(s.dashed === true), s.name)),
  );
  return h('div', { class: 'line-chart-wrap' }, chart, legend);
}

function swatch(dashed: boolean): SVGSVGElement {
  return svg(
    'svg',
    { class: 'legend-swatch', width: 24, height: 10, viewBox: '0 0 24 10', 'aria-hidden': 'true' },
    svg('line', { class: dashed ? 'chart-line chart-line-dashed' : 'chart-line', x1: 1, x2: 23, y1: 5, y2: 5 }),
  );
}
