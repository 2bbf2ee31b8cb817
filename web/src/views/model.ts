/**
 * The served model: what it is, how well it does (evaluation metrics), how it was trained
 * (hyperparameters), its training curve (train and validation RMSE per epoch) plotted, and what its hidden
 * units learned (./hidden-units.ts).
 */
import { api, type CurvePoint, type ModelInfo } from '../api.js';
import { lineChart, type Series } from '../charts.js';
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
        'The model behind the recommendations: a restricted Boltzmann machine with one softmax visible unit per rating level. Its evaluation, its settings and how its error fell during training.',
      ),
    ),
    body,
  );

  let loaded = false;
  let loading = false;
  let chartResize: ResizeObserver | null = null;

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
    const curveSection = h(
      'section',
      { class: 'panel panel-curve', 'aria-labelledby': 'curve-heading' },
      h('h2', { id: 'curve-heading', class: 'panel-title' }, 'Training curve'),
      h(
        'p',
        { class: 'panel-subtitle' },
        'Root-mean-square error of the predicted ratings after each epoch, on the training ratings and on the held-out validation ratings.',
      ),
      curve.length === 0 ? emptyState('No training curve was recorded for this model.') : curveChart(curve),
    );

    const metrics = info.metrics ?? {};
    const training = info.training ?? {};
    // The trainer records each part's validation RMSE both as `metrics` and as `training.validation`.
    const metricsAreValidationRmse = isPlainObject(training.validation) && JSON.stringify(training.validation) === JSON.stringify(metrics);
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
    );

    // What the training run recorded besides the curve and the metrics shown above.
    const runRecord = Object.fromEntries(
      Object.entries(training).filter(
        ([key, value]) =>
          !['curve', 'metrics', 'validation'].includes(key) && value !== null && !(Array.isArray(value) && value.length === 0),
      ),
    );
    const trainingSection =
      Object.keys(runRecord).length > 0
        ? h(
            'section',
            { class: 'panel', 'aria-labelledby': 'training-heading' },
            h('h2', { id: 'training-heading', class: 'panel-title' }, 'Training run'),
            keyValueList(runRecord, 'training'),
          )
        : null;

    const params = info.hyperparameters ?? {};
    const paramsSection = h(
      'section',
      { class: 'panel panel-params', 'aria-labelledby': 'params-heading' },
      h('h2', { id: 'params-heading', class: 'panel-title' }, 'Hyperparameters'),
      Object.keys(params).length === 0 ? emptyState('No hyperparameters were recorded.') : keyValueList(params, 'params'),
    );

    replaceChildren(
      body,
      summary,
      curveSection,
      hidden.element,
      h('div', { class: 'model-grid' }, metricsSection, trainingSection),
      paramsSection,
    );
  }

  /** Numeric metrics with the lowest error marked; anything else as a plain list. */
  function metricList(metrics: Record<string, unknown>): HTMLElement {
    const numeric = Object.entries(metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
    if (numeric.length !== Object.keys(metrics).length) return keyValueList(metrics, 'metrics');
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

  function curveChart(points: CurvePoint[]): HTMLElement {
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

    const chartHolder = h('div', { class: 'chart-holder' });
    const draw = (): void => {
      const width = chartHolder.clientWidth || 640;
      replaceChildren(chartHolder, lineChart({ title: 'Training curve', xLabel: 'Epoch', yLabel: 'RMSE', series, width }));
    };
    chartResize?.disconnect();
    let lastWidth = -1;
    chartResize = new ResizeObserver(() => {
      const width = chartHolder.clientWidth;
      if (width > 0 && Math.abs(width - lastWidth) >= 2) {
        lastWidth = width;
        draw();
      }
    });
    chartResize.observe(chartHolder);

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
      'div',
      {},
      chartHolder,
      best.some((b) => b !== null) && h('ul', { class: 'curve-notes' }, ...best),
      h(
        'details',
        { class: 'data-details' },
        h('summary', {}, 'Show the curve as a table'),
        h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'data-table' },
            h('caption', { class: 'visually-hidden' }, 'Training and validation RMSE per epoch'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                phases.length > 1 && h('th', { scope: 'col' }, 'Phase'),
                h('th', { scope: 'col', class: 'num' }, 'Epoch'),
                h('th', { scope: 'col', class: 'num' }, 'Train RMSE'),
                h('th', { scope: 'col', class: 'num' }, 'Validation RMSE'),
              ),
            ),
            h(
              'tbody',
              {},
              ...points.map((p) =>
                h(
                  'tr',
                  {},
                  phases.length > 1 && h('td', {}, phaseName(p.phase)),
                  h('td', { class: 'num' }, p.epoch),
                  h('td', { class: 'num' }, p.trainRmse.toFixed(4)),
                  h('td', { class: 'num' }, typeof p.validationRmse === 'number' ? p.validationRmse.toFixed(4) : '—'),
                ),
              ),
            ),
          ),
        ),
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

function phaseName(phase: string): string {
  if (phase === 'user') return 'User RBM';
  if (phase === 'item') return 'Item RBM';
  return humanize(phase);
}

function metricName(key: string): string {
  const names: Record<string, string> = { user: 'User RBM', item: 'Item RBM', bias: 'Bias baseline', blend: 'Blend (served)' };
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
    blend: 'Blend of user and item RBMs',
    bias: 'Bias baseline',
  };
  return names[kind] ?? humanize(kind);
}

/** "validationRmse" → "Validation RMSE", "cd_steps" → "Cd steps". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .split(/\s+/)
    .map((w) => (/^(rmse|mae|rbm|cd|pcd|lr|ndcg|id|ms)$/i.test(w) ? w.toUpperCase() : w.toLowerCase()));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

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
function keyValueList(record: Record<string, unknown>, idPrefix: string): HTMLElement {
  const scalars = Object.entries(record).filter(([, v]) => !isPlainObject(v));
  const groups = Object.entries(record).filter(([, v]) => isPlainObject(v)) as [string, Record<string, unknown>][];
  const children: Child[] = [];
  if (scalars.length > 0)
    children.push(h('dl', { class: 'kv' }, ...scalars.flatMap(([k, v]) => [h('dt', {}, humanize(k)), h('dd', {}, formatValue(v, k))])));
  for (const [key, value] of groups) {
    const id = `${idPrefix}-${key}`.replace(/[^a-zA-Z0-9_-]/g, '-');
    children.push(
      h(
        'div',
        { class: 'kv-group', role: 'group', 'aria-labelledby': id },
        h('h3', { id, class: 'kv-group-title' }, phaseName(key)),
        keyValueList(value, id),
      ),
    );
  }
  return h('div', { class: 'kv-wrap' }, ...children);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stat(label: string, value: string): HTMLElement {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
}
