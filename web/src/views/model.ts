/**
 * The served model: what it is, how well it does (evaluation metrics), how it was trained
 * (hyperparameters), its training curve (train and validation RMSE per epoch) plotted, and what its hidden
 * units learned (./hidden-units.ts).
 */
import { api, type CurvePoint, type ModelInfo } from '../api.js';
import { lineChart, type LineChartOptions, type Series } from '../charts.js';
import { emptyState, errorState, loadingState } from '../components.js';
import { h, replaceChildren, type Child } from '../dom.js';
import { formatCount, formatDate, formatLevel } from '../format.js';
import type { VisitorRatings } from '../visitor-ratings.js';
import { hiddenUnitsPanel } from './hidden-units.js';
import type { View } from './view.js';

/** Colours (CSS classes) for the curve of each training phase, in order of appearance. */
const PHASE_COLORS = ['series-a', 'series-b', 'series-c', 'series-d'];

export function modelView(ratings: VisitorRatings): View {
  const hidden = hiddenUnitsPanel(ratings);
  const heading = h('h1', { class: 'view-title', tabindex: '-1' }, 'Model');
  const body = h('div', { class: 'model-body' });
  const element = h(
    'div',
    { class: 'view view-model' },
    h(
      'header',
      { class: 'view-header' },
      heading,
      h(
        'p',
        { class: 'view-lead' },
        'The model behind the recommendations: its restricted Boltzmann machines, how each trained, how well it does on held-out data, and what its hidden units learned.',
      ),
    ),
    body,
  );

  let loaded = false;
  let loading = false;
  let chartResizers: ResizeObserver[] = [];

  async function load(): Promise<void> {
    if (loading) return;
    loading = true;
    body.setAttribute('aria-busy', 'true');
    replaceChildren(body, loadingState('Loading the model…'));
    try {
      const info = await api.model();
      render(info);
      loaded = true;
      hidden.refresh();
    } catch (error) {
      replaceChildren(
        body,
        errorState(error, () => void load()),
      );
    } finally {
      loading = false;
      body.setAttribute('aria-busy', 'false');
    }
  }

  function render(info: ModelInfo): void {
    const cutoff = rankCutoffOf(info.hyperparameters);
    const ndcg = ndcgLabel(cutoff);
    const summary = h(
      'dl',
      { class: 'stat-row' },
      stat('Model', describeKind(info.kind, info.hyperparameters)),
      stat('Version', String(info.version)),
      stat('Trained', formatDate(info.createdAt)),
      stat('Rating scale', info.ratingLevels.length > 0 ? `${info.ratingLevels.map(formatLevel).join(' · ')}` : '—'),
      info.users !== undefined && info.items !== undefined
        ? stat('Users × movies', `${formatCount(info.users)} × ${formatCount(info.items)}`)
        : null,
    );

    const curve = (info.curve ?? []).filter((p) => Number.isFinite(p.epoch) && Number.isFinite(p.trainRmse));
    const rating = curve.filter((p) => !isRankingPhase(p.phase));
    const rankingAll = curve.filter((p) => isRankingPhase(p.phase));
    const ranking = rankingAll.filter((p) => typeof p.validationRmse === 'number');
    chartResizers.forEach((r) => r.disconnect());
    chartResizers = [];
    const charts: HTMLElement[] = [];
    if (rating.length > 0) charts.push(ratingCurve(rating));
    if (ranking.length > 0) charts.push(rankingCurve(ranking, ndcg));
    else if (rankingAll.length > 0) charts.push(rankingTrainCurve(rankingAll));
    const curveSection = h(
      'section',
      { class: 'panel panel-curve', 'aria-labelledby': 'curve-heading' },
      h('h2', { id: 'curve-heading', class: 'panel-title' }, 'Training curve'),
      h(
        'p',
        { class: 'panel-subtitle' },
        ranking.length > 0 && rating.length > 0
          ? `Each model is stopped on its own validation measure: the rating RBMs on the RMSE of held-out ratings (lower is better), the ranking RBM on ${ndcg} of held-out movies (higher is better).`
          : 'Root-mean-square error of the predicted ratings after each epoch, on the training ratings and on the held-out validation ratings.',
      ),
      charts.length === 0 ? emptyState('No training curve was recorded for this model.') : h('div', { class: 'curve-grid' }, ...charts),
    );

    const metrics = info.metrics ?? {};
    const training = info.training ?? {};
    // The trainer records each part's validation RMSE both as `metrics` and as `training.validation`.
    const metricsAreValidationRmse = isPlainObject(training.validation) && JSON.stringify(training.validation) === JSON.stringify(metrics);
    const validationRanking = isPlainObject(training.validationRanking) ? training.validationRanking : null;
    const rankingNdcg = typeof validationRanking?.ndcg === 'number' ? validationRanking.ndcg : null;
    const metricsSection = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'metrics-heading' },
      h('h2', { id: 'metrics-heading', class: 'panel-title' }, 'Evaluation'),
      metricsAreValidationRmse &&
        h(
          'p',
          { class: 'panel-subtitle' },
          'RMSE on the held-out validation ratings, for each part of the model and for their blend. Lower is better.',
        ),
      Object.keys(metrics).length === 0 ? emptyState('No evaluation metrics were recorded for this model.') : metricList(metrics),
      rankingNdcg !== null &&
        h(
          'div',
          { class: 'ranking-metric' },
          h('p', { class: 'panel-subtitle' }, `${ndcg} of the ranking RBM on held-out movies of validation users. Higher is better.`),
          h(
            'dl',
            { class: 'kv kv-metrics' },
            h('dt', {}, `Ranking RBM ${ndcg}`),
            h('dd', {}, rankingNdcg.toFixed(4)),
            typeof validationRanking?.bestEpoch === 'number' && h('dt', {}, 'Best epoch'),
            typeof validationRanking?.bestEpoch === 'number' && h('dd', {}, String(validationRanking.bestEpoch)),
          ),
        ),
    );

    // What the training run recorded besides the curve and the metrics shown above.
    const runRecord = withoutCurves(
      Object.fromEntries(
        Object.entries(training).filter(
          ([key, value]) =>
            !['curve', 'metrics', 'validation', 'validationRanking'].includes(key) &&
            value !== null &&
            !(Array.isArray(value) && value.length === 0),
        ),
      ),
    );
    const trainingSection =
      Object.keys(runRecord).length > 0
        ? h(
            'section',
            { class: 'panel', 'aria-labelledby': 'training-heading' },
            h('h2', { id: 'training-heading', class: 'panel-title' }, 'Training run'),
            keyValueList(withoutGroups(runRecord), 'training', cutoff),
            Object.values(runRecord).some(isPlainObject) &&
              h(
                'details',
                { class: 'data-details' },
                h('summary', {}, 'Show each part’s run'),
                keyValueList(onlyGroups(runRecord), 'training-parts', cutoff),
              ),
          )
        : null;

    // The settings, long for a blend of three RBMs: folded, so the page stays a few screens long.
    const params = withoutCurves(info.hyperparameters ?? {});
    const paramsSection = h(
      'section',
      { class: 'panel panel-params', 'aria-labelledby': 'params-heading' },
      h('h2', { id: 'params-heading', class: 'panel-title' }, 'Hyperparameters'),
      Object.keys(params).length === 0
        ? emptyState('No hyperparameters were recorded.')
        : h(
            'details',
            { class: 'data-details params-details' },
            h('summary', {}, `Show the settings of every part (${countLeaves(params)} values)`),
            keyValueList(params, 'params', cutoff),
          ),
    );

    replaceChildren(
      body,
      summary,
      curveSection,
      h('div', { class: 'model-grid' }, metricsSection, trainingSection),
      hidden.element,
      paramsSection,
    );
  }

  /** Numeric metrics with the lowest error marked; anything else as a plain list. */
  function metricList(metrics: Record<string, unknown>): HTMLElement {
    const numeric = Object.entries(metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
    if (numeric.length !== Object.keys(metrics).length) return keyValueList(metrics, 'metrics', DEFAULT_RANK_CUTOFF);
    const best = Math.min(...numeric.map(([, v]) => v));
    return h(
      'dl',
      { class: 'kv kv-metrics' },
      ...numeric.flatMap(([key, value]) => [
        h('dt', {}, metricName(key)),
        h('dd', {}, value === best && numeric.length > 1 && h('span', { class: 'best-badge' }, 'lowest'), value.toFixed(4)),
      ]),
    );
  }

  /** A line chart redrawn at its holder's width. */
  function resizingChart(options: Omit<LineChartOptions, 'width'>): HTMLElement {
    const holder = h('div', { class: 'chart-holder' });
    let lastWidth = -1;
    const observer = new ResizeObserver(() => {
      const width = holder.clientWidth;
      if (width > 0 && Math.abs(width - lastWidth) >= 2) {
        lastWidth = width;
        replaceChildren(holder, lineChart({ ...options, width }));
      }
    });
    observer.observe(holder);
    chartResizers.push(observer);
    return holder;
  }

  /** The rating RBMs (user, item): train and validation RMSE per epoch. */
  function ratingCurve(points: CurvePoint[]): HTMLElement {
    const phases = [...new Set(points.map((p) => p.phase ?? 'model'))];
    const series: Series[] = [];
    phases.forEach((phase, i) => {
      const ofPhase = points.filter((p) => (p.phase ?? 'model') === phase).sort((a, b) => a.epoch - b.epoch);
      const label = phases.length > 1 ? `${phaseName(phase)}: ` : '';
      const colorClass = PHASE_COLORS[i % PHASE_COLORS.length];
      series.push({ name: `${label}train`, colorClass, points: ofPhase.map((p) => ({ x: p.epoch, y: p.trainRmse })) });
      const validation = ofPhase.filter((p) => typeof p.validationRmse === 'number');
      if (validation.length > 0) {
        series.push({
          name: `${label}validation`,
          colorClass,
          dashed: true,
          points: validation.map((p) => ({ x: p.epoch, y: p.validationRmse as number })),
        });
      }
    });
    const best = phases.map((phase) => {
      const withValidation = points.filter((p) => (p.phase ?? 'model') === phase && typeof p.validationRmse === 'number');
      if (withValidation.length === 0) return null;
      const min = withValidation.reduce((a, b) => ((b.validationRmse as number) < (a.validationRmse as number) ? b : a));
      return h(
        'li',
        {},
        `${phases.length > 1 ? `${phaseName(phase)}: ` : ''}best validation RMSE ${(min.validationRmse as number).toFixed(4)} at epoch ${min.epoch}`,
      );
    });
    return h(
      'figure',
      { class: 'curve-figure' },
      h('figcaption', { class: 'curve-caption' }, 'Rating RBMs: RMSE (lower is better)'),
      resizingChart({ title: 'Training curve of the rating RBMs', xLabel: 'Epoch', yLabel: 'RMSE', series }),
      best.some((b) => b !== null) && h('ul', { class: 'curve-notes' }, ...best),
      curveTable(
        'Training and validation RMSE per epoch',
        [...(phases.length > 1 ? ['Phase'] : []), 'Epoch', 'Train RMSE', 'Validation RMSE'],
        points.map((p) => [
          ...(phases.length > 1 ? [phaseName(p.phase)] : []),
          String(p.epoch),
          p.trainRmse.toFixed(4),
          typeof p.validationRmse === 'number' ? p.validationRmse.toFixed(4) : '—',
        ]),
      ),
    );
  }

  /**
   * The ranking RBM trained on every rating (no validation slice, the served default since its Gaussian
   * units): what each member recorded is its reconstruction error of the training users' rated-or-not
   * vectors (the pseudo-likelihood member's: of each item's conditional given the others).
   */
  function rankingTrainCurve(points: CurvePoint[]): HTMLElement {
    const members = rankingMembers(points, (p) => p.trainRmse);
    return h(
      'figure',
      { class: 'curve-figure' },
      h('figcaption', { class: 'curve-caption' }, 'Ranking RBM: reconstruction error on the training users (lower is better)'),
      resizingChart({
        title: 'Training curve of the ranking RBM: reconstruction error',
        xLabel: 'Epoch',
        yLabel: 'RMSE',
        series: members.map((m, n) => ({ name: `${m.name}: train`, colorClass: RANKING_COLORS[n % 2], points: m.values })),
      }),
      h(
        'ul',
        { class: 'curve-notes' },
        h('li', {}, 'Trained on every rating for a fixed number of epochs, chosen on validation data: no held-out slice to chart.'),
      ),
      curveTable(
        'Reconstruction error of the ranking RBM per epoch',
        ['Epoch', ...members.map((m) => `${m.name}: train RMSE`)],
        epochRows(members, (y) => y.toFixed(4)),
      ),
    );
  }

  /**
   * The ranking (implicit) RBM: its curve records 1 − nDCG@k of the validation users as its "validation
   * RMSE" (the lower-is-better form early stopping reads), so the chart turns it back into nDCG@k.
   */
  function rankingCurve(points: CurvePoint[], ndcg: string): HTMLElement {
    const members = rankingMembers(points, (p) => 1 - (p.validationRmse as number));
    return h(
      'figure',
      { class: 'curve-figure' },
      h('figcaption', { class: 'curve-caption' }, `Ranking RBM: validation ${ndcg} (higher is better)`),
      resizingChart({
        title: 'Training curve of the ranking RBM',
        xLabel: 'Epoch',
        yLabel: ndcg,
        series: members.map((m, n) => ({
          name: `${m.name}: validation ${ndcg}`,
          colorClass: RANKING_COLORS[n % 2],
          dashed: true,
          points: m.values,
        })),
      }),
      h(
        'ul',
        { class: 'curve-notes' },
        ...members.map((m) => {
          const best = m.values.reduce((a, b) => (b.y > a.y ? b : a));
          return h('li', {}, `${m.name}: best validation ${ndcg} ${best.y.toFixed(4)} at epoch ${best.x}`);
        }),
      ),
      curveTable(
        `Validation ${ndcg} of the ranking RBM per epoch`,
        ['Epoch', ...members.map((m) => `${m.name}: validation ${ndcg}`)],
        epochRows(members, (y) => y.toFixed(4)),
      ),
    );
  }

  return {
    element,
    heading,
    title: 'Model',
    show() {
      if (!loaded) void load();
      else hidden.refresh(); // the visitor may have rated more movies since
    },
  };
}

/** The curve phase of the ranking (implicit) RBM, whose validation column holds 1 − nDCG@k. */
/**
 * The curve phases of the ranking (implicit) RBM's members: trained by contrastive divergence, and by
 * pseudo-likelihood (the served ensemble has one of each); the validation column holds 1 − nDCG@k.
 */
const RANKING_PHASES: Record<string, string> = { implicit: 'Ranking RBM', 'implicit-pl': 'Ranking RBM, pseudo-likelihood member' };
const RANKING_COLORS = ['series-c', 'series-d'];
const isRankingPhase = (phase: string | undefined): boolean => phase !== undefined && phase in RANKING_PHASES;

interface MemberCurve {
  name: string;
  values: { x: number; y: number }[];
}

/** The ranking points as one curve per member phase (in order of appearance), sorted by epoch. */
function rankingMembers(points: readonly CurvePoint[], y: (p: CurvePoint) => number): MemberCurve[] {
  const phases = [...new Set(points.map((p) => p.phase))];
  return phases.map((phase) => ({
    name: RANKING_PHASES[phase] ?? phase,
    values: points
      .filter((p) => p.phase === phase)
      .sort((a, b) => a.epoch - b.epoch)
      .map((p) => ({ x: p.epoch, y: y(p) })),
  }));
}

/** Table rows: one per epoch any member ran, a cell per member ("—" where it did not run that epoch). */
function epochRows(members: readonly MemberCurve[], format: (y: number) => string): string[][] {
  const epochs = [...new Set(members.flatMap((m) => m.values.map((v) => v.x)))].sort((a, b) => a - b);
  return epochs.map((x) => [
    String(x),
    ...members.map((m) => {
      const v = m.values.find((p) => p.x === x);
      return v ? format(v.y) : '—';
    }),
  ]);
}
const DEFAULT_RANK_CUTOFF = 10;

/** The one spelling of the ranking metric on the page: "nDCG@10". */
const ndcgLabel = (cutoff: number): string => `nDCG@${cutoff}`;

/** k of nDCG@k: the implicit RBM's recorded rankCutoff, else its default. */
function rankCutoffOf(hyperparameters: Record<string, unknown> | null): number {
  const implicit = hyperparameters?.implicit;
  const options = isPlainObject(implicit) ? implicit.options : null;
  const k = isPlainObject(options) ? options.rankCutoff : undefined;
  return typeof k === 'number' && Number.isInteger(k) && k > 0 ? k : DEFAULT_RANK_CUTOFF;
}

/** A record without its training curves (drawn as charts above) at any depth. */
function withoutCurves(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record)
      .filter(([key]) => key !== 'curve')
      .map(([key, value]) => [key, isPlainObject(value) ? withoutCurves(value) : value]),
  );
}

const withoutGroups = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => !isPlainObject(v)));
const onlyGroups = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => isPlainObject(v)));

function countLeaves(record: Record<string, unknown>): number {
  return Object.values(record).reduce<number>((n, v) => n + (isPlainObject(v) ? countLeaves(v) : 1), 0);
}

/** A table of the plotted numbers, folded under the chart. */
function curveTable(caption: string, columns: string[], rows: string[][]): HTMLElement {
  return h(
    'details',
    { class: 'data-details' },
    h('summary', {}, 'Show as a table'),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table' },
        h('caption', { class: 'visually-hidden' }, caption),
        h('thead', {}, h('tr', {}, ...columns.map((c, n) => h('th', { scope: 'col', class: n === 0 && c === 'Phase' ? '' : 'num' }, c)))),
        h(
          'tbody',
          {},
          ...rows.map((row) =>
            h('tr', {}, ...row.map((cell, n) => h('td', { class: n === 0 && columns[0] === 'Phase' ? '' : 'num' }, cell))),
          ),
        ),
      ),
    ),
  );
}

function phaseName(phase: string): string {
  if (phase === 'user') return 'User RBM';
  if (phase === 'item') return 'Item RBM';
  if (isRankingPhase(phase)) return RANKING_PHASES[phase];
  return humanize(phase);
}

function metricName(key: string): string {
  const names: Record<string, string> = { user: 'User RBM', item: 'Item RBM', bias: 'Bias baseline', blend: 'Blend (ratings)' };
  return names[key] ?? humanize(key);
}

function describeKind(kind: string, hyperparameters: Record<string, unknown> | null): string {
  if (kind === 'rbm') {
    const orientation = hyperparameters?.orientation;
    if (orientation === 'both') return 'User and item RBMs, blended';
    if (orientation === 'user') return 'User-based RBM';
    if (orientation === 'item') return 'Item-based RBM';
  }
  const names: Record<string, string> = {
    rbm: 'Restricted Boltzmann machine',
    'watch-like': 'Watch × like: ranking RBM and rating RBMs',
    implicit: 'Ranking RBM (implicit)',
    blend: 'Blend of user and item RBMs',
    bias: 'Bias baseline',
  };
  return names[kind] ?? humanize(kind);
}

/** "validationRmse" → "Validation RMSE", "cd_steps" → "Cd steps", "bestValidationNdcg" → "Best validation nDCG@10". */
export function humanize(key: string, rankCutoff = DEFAULT_RANK_CUTOFF): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .split(/\s+/)
    .map((w) =>
      /^ndcg$/i.test(w) ? ndcgLabel(rankCutoff) : /^(rmse|mae|rbm|cd|pcd|lr|id|ms)$/i.test(w) ? w.toUpperCase() : w.toLowerCase(),
    );
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Longest text a settings cell shows: a longer value (a recorded list) is summarised by its length. */
const MAX_CELL = 160;

function isCdSchedule(value: unknown): value is { fromEpoch: number; steps: number }[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === 'object' && v !== null && typeof v.fromEpoch === 'number' && typeof v.steps === 'number')
  );
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function formatValue(value: unknown, key = ''): string {
  // The contrastive-divergence schedule: "T = 1 from epoch 1, T = 3 from epoch 20".
  if (isCdSchedule(value)) return value.map((s) => `T = ${s.steps} from epoch ${s.fromEpoch}`).join(', ');
  if (typeof value === 'number' && /seconds$/i.test(key)) return `${value.toFixed(1)} s`;
  if (typeof value === 'string' && ISO_DATE.test(value)) return formatDate(value);
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return formatCount(value);
    return Math.abs(value) >= 0.001 ? String(Number(value.toPrecision(5))) : value.toExponential(2);
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return value.map((v) => formatValue(v)).join(', ');
    return value
      .map((v) =>
        typeof v === 'object' && v !== null
          ? Object.entries(v)
              .map(([k, x]) => `${humanize(k).toLowerCase()} ${formatValue(x)}`)
              .join(', ')
          : formatValue(v),
      )
      .join('; ');
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A nested record as definition lists: scalar entries first, then one titled group per nested object
 * (e.g. the user and the item RBM's settings side by side).
 */
function keyValueList(record: Record<string, unknown>, idPrefix: string, rankCutoff: number): HTMLElement {
  const scalars = Object.entries(record).filter(([, v]) => !isPlainObject(v));
  const groups = Object.entries(record).filter(([, v]) => isPlainObject(v)) as [string, Record<string, unknown>][];
  const children: Child[] = [];
  if (scalars.length > 0)
    children.push(
      h('dl', { class: 'kv' }, ...scalars.flatMap(([k, v]) => [h('dt', {}, humanize(k, rankCutoff)), h('dd', {}, cellText(v, k))])),
    );
  for (const [key, value] of groups) {
    const id = `${idPrefix}-${key}`.replace(/[^a-zA-Z0-9_-]/g, '-');
    children.push(
      h(
        'div',
        { class: 'kv-group', role: 'group', 'aria-labelledby': id },
        h('h3', { id, class: 'kv-group-title' }, groupName(key, rankCutoff)),
        keyValueList(value, id, rankCutoff),
      ),
    );
  }
  return h('div', { class: 'kv-wrap' }, ...children);
}

/** A value as one table cell, never longer than MAX_CELL characters. */
function cellText(value: unknown, key: string): string {
  const text = formatValue(value, key);
  if (text.length <= MAX_CELL) return text;
  if (Array.isArray(value)) return `${formatCount(value.length)} entries`;
  return `${text.slice(0, MAX_CELL - 1)}…`;
}

/** Titles of the nested settings groups. */
function groupName(key: string, rankCutoff: number): string {
  const names: Record<string, string> = {
    rating: 'Rating RBMs (blend)',
    implicit: 'Ranking RBM (implicit)',
    options: 'Training options',
    training: 'Training record',
    mixture: 'Mixture weights',
    hidden: 'Hidden units',
    bias: 'Bias baseline',
    orientations: 'Per RBM',
  };
  return names[key] ?? (key === 'user' || key === 'item' ? phaseName(key) : humanize(key, rankCutoff));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stat(label: string, value: string): HTMLElement {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
}
