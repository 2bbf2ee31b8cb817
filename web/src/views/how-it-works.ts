/**
 * "How it works": the text of ../how-it-works/content.ts with its equations as MathML (pre-rendered by the
 * build), and in each "This model" box the served model's own numbers from GET /api/model/explain.
 */
import { api, type ModelExplainResponse } from '../api.js';
import { distributionChart } from '../charts.js';
import { errorState, loadingState } from '../components.js';
import { h, replaceChildren, type Child } from '../dom.js';
import { displayTitle, formatCount, formatLevel, formatPercent } from '../format.js';
import { LEAD, SECTIONS, TITLE, segments, type Block, type FigureId } from '../how-it-works/content.js';
import { toMathML } from '../how-it-works/mathml.js';
import type { View } from './view.js';

/** MathML from the build's table, inserted as markup (it is our own content, rendered at build time). */
function mathElement(tex: string, display: boolean): HTMLElement {
  const holder = h(display ? 'div' : 'span', { class: display ? 'math-display' : 'math-inline' });
  holder.innerHTML = toMathML(tex, display);
  return holder;
}

function paragraph(text: string): HTMLElement {
  return h('p', {}, ...segments(text).map((s) => ('tex' in s ? mathElement(s.tex, false) : s.text)));
}

export function howItWorksView(): View {
  const heading = h('h1', { class: 'view-title', tabindex: '-1' }, TITLE);
  const figures = new Map<FigureId, HTMLElement>();
  const block = (b: Block): HTMLElement => {
    if (b.kind === 'p') return paragraph(b.text);
    if (b.kind === 'math') return mathElement(b.tex, true);
    const box = h('div', { class: 'figure-body' });
    figures.set(b.figure, box);
    return h(
      'aside',
      { class: 'model-figure', 'aria-labelledby': `figure-${b.figure}` },
      h('h3', { id: `figure-${b.figure}`, class: 'model-figure-title' }, 'This model'),
      box,
    );
  };
  const toc = h(
    'nav',
    { class: 'hiw-toc', 'aria-label': 'Sections' },
    h('ol', {}, ...SECTIONS.map((s) => h('li', {}, h('a', { href: `#${s.id}` }, s.title)))),
  );
  const element = h(
    'div',
    { class: 'view view-how' },
    h('header', { class: 'view-header' }, heading, h('p', { class: 'view-lead' }, LEAD)),
    toc,
    ...SECTIONS.map((s) =>
      h(
        'section',
        { class: 'panel hiw-section', id: s.id, 'aria-labelledby': `${s.id}-title` },
        h('h2', { id: `${s.id}-title`, class: 'panel-title' }, s.title),
        ...s.blocks.map(block),
      ),
    ),
  );

  // A displayed equation wider than a phone scrolls sideways inside its box; such a box must be reachable
  // from the keyboard to be scrolled without a pointer, so it becomes focusable while it overflows.
  const displays = [...element.querySelectorAll<HTMLElement>('.math-display')];
  const markScrollable = (): void => {
    for (const box of displays) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
        box.setAttribute('role', 'group');
        box.setAttribute('aria-label', 'Equation, scrolls sideways');
      } else {
        box.removeAttribute('tabindex');
        box.removeAttribute('role');
        box.removeAttribute('aria-label');
      }
    }
  };
  new ResizeObserver(markScrollable).observe(element);

  let loaded = false;
  let loading = false;

  async function load(): Promise<void> {
    if (loading) return;
    loading = true;
    element.setAttribute('aria-busy', 'true');
    for (const box of figures.values()) replaceChildren(box, loadingState('Loading this model’s numbers…'));
    try {
      const info = await api.explain();
      for (const [id, box] of figures) replaceChildren(box, ...figureContent(id, info));
      loaded = true;
    } catch (error) {
      for (const box of figures.values())
        replaceChildren(
          box,
          errorState(error, () => void load()),
        );
    } finally {
      loading = false;
      element.setAttribute('aria-busy', 'false');
    }
  }

  return {
    element,
    heading,
    title: TITLE,
    show() {
      if (!loaded) void load();
    },
  };
}

/** Label/value pairs as a definition list; null values are left out. */
function facts(...pairs: [string, string | null][]): HTMLElement {
  return h(
    'dl',
    { class: 'kv figure-facts' },
    ...pairs.filter((p) => p[1] !== null).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v as string)]),
  );
}

const num = (x: number, digits = 2): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function option(info: ModelExplainResponse, name: string): unknown {
  return info.userRbm?.options?.[name] ?? info.itemRbm?.options?.[name];
}

function cdSchedule(value: unknown): string | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  return value
    .filter((s): s is { fromEpoch: number; steps: number } => typeof s?.fromEpoch === 'number' && typeof s?.steps === 'number')
    .map((s) => `T = ${s.steps} from epoch ${s.fromEpoch}`)
    .join(', ');
}

const asText = (value: unknown): string | null =>
  typeof value === 'number' ? String(value) : typeof value === 'boolean' ? (value ? 'yes' : 'no') : null;

function figureContent(id: FigureId, info: ModelExplainResponse): Child[] {
  const sample = info.sample;
  const levels = info.ratingLevels;
  const noRbm = [h('p', {}, 'The served model has no user RBM, so it has no numbers for this part.')];
  switch (id) {
    case 'architecture':
      return [
        facts(
          ['Hidden units F (user RBM)', info.userRbm ? formatCount(info.userRbm.hidden) : null],
          ['Hidden units (item RBM)', info.itemRbm ? formatCount(info.itemRbm.hidden) : null],
          ['Rating levels K', `${info.levels} (${levels.map(formatLevel).join(', ')})`],
          ['Movies (visible units available)', formatCount(info.items)],
          ['Users trained on', formatCount(info.users)],
          ['Weights W of the user RBM', info.userRbm ? formatCount(info.userRbm.visibles * info.levels * info.userRbm.hidden) : null],
        ),
      ];
    case 'free-energy':
      if (!sample) return noRbm;
      return [
        h('p', {}, `Data-set user ${sample.userId}, ${formatCount(sample.ratingsUsed)} ratings:`),
        facts(['Free energy of their ratings', num(sample.freeEnergy)], ['Same movies, ratings mirrored', num(sample.mirroredFreeEnergy)]),
        h(
          'p',
          { class: 'figure-note' },
          sample.freeEnergy < sample.mirroredFreeEnergy
            ? h(
                'span',
                {},
                'The real ratings are e',
                h('sup', {}, num(sample.mirroredFreeEnergy - sample.freeEnergy, 1)),
                ' times more probable than the mirrored ones.',
              )
            : 'Here the mirrored ratings are not less probable: this model has learned little about this user’s taste.',
        ),
      ];
    case 'hidden':
      if (!sample) return noRbm;
      return [
        h('p', {}, `The hidden units user ${sample.userId}’s ratings switch on most:`),
        facts(
          ...sample.topUnits.map((u): [string, string] => [
            `Unit ${u.unit + 1}`,
            `p(h = 1 | V) = ${num(u.probability, 3)}, base rate σ(c) = ${num(u.baseRate, 3)}`,
          ]),
        ),
      ];
    case 'masking':
      if (!sample) return noRbm;
      return [
        facts(
          ['Movies user ' + sample.userId + ' rated (visible units)', formatCount(sample.ratingsUsed)],
          ['Movies masked for them (no unit)', formatCount(info.items - sample.ratingsUsed)],
          [
            'Training ratings, share of users × movies',
            info.trainingRatings === null
              ? null
              : `${formatCount(info.trainingRatings)} (${((100 * info.trainingRatings) / (info.users * info.items)).toFixed(1)}%)`,
          ],
        ),
      ];
    case 'prediction': {
      if (!sample) return noRbm;
      const title = sample.movie.title === null ? `movie ${sample.movie.itemId}` : displayTitle(sample.movie.title);
      return [
        h(
          'p',
          {},
          `User ${sample.userId} has not rated `,
          h('strong', {}, title),
          sample.movie.year !== null ? ` (${sample.movie.year})` : '',
          '. What the model predicts:',
        ),
        h(
          'div',
          { class: 'figure-dists' },
          h(
            'div',
            {},
            h('p', { class: 'figure-dist-title' }, `User RBM: expected ${num(sample.userRbm.expected)} ★`),
            distributionChart(sample.userRbm.distribution, levels),
          ),
          h(
            'div',
            {},
            h('p', { class: 'figure-dist-title' }, `Served model: expected ${num(sample.served.expected)} ★`),
            distributionChart(sample.served.distribution, levels),
          ),
        ),
        h(
          'p',
          { class: 'figure-note' },
          `p(v = k | p̂) for k = ${levels.map(formatLevel).join(', ')}: ${sample.userRbm.distribution.map((x) => num(x, 3)).join(', ')} (user RBM).`,
        ),
      ];
    }
    case 'training':
      return [
        facts(
          ['CD schedule', cdSchedule(option(info, 'cdSchedule'))],
          ['Persistent CD', asText(option(info, 'persistent'))],
          ['Learning rate ε', asText(option(info, 'lr'))],
          ['Momentum', asText(option(info, 'momentum'))],
          ['Weight decay', asText(option(info, 'weightDecay'))],
          ['Mini-batch size', asText(option(info, 'batchSize'))],
          ['Maximum epochs', asText(option(info, 'epochs'))],
          [
            'Epochs run',
            info.epochsRun
              ? Object.entries(info.epochsRun)
                  .map(([phase, epochs]) => `${phase === 'user' ? 'user RBM' : phase === 'item' ? 'item RBM' : phase} ${epochs}`)
                  .join(', ')
              : null,
          ],
        ),
      ];
    case 'fold-in':
      return [
        facts(
          ['Ratings folded in (sample user)', sample ? formatCount(sample.ratingsUsed) : null],
          [
            'Hidden units on, in expectation (Σ p̂)',
            sample && info.userRbm ? `${num(sample.activeUnits, 1)} of ${formatCount(info.userRbm.hidden)}` : null,
          ],
          ['Multiply-adds for p(h | V)', sample && info.userRbm ? formatCount(sample.ratingsUsed * info.userRbm.hidden) : null],
          ...Object.entries(info.mixture ?? {}).map(([part, w]): [string, string] => [`Mixture weight w (${part})`, num(w, 3)]),
        ),
      ];
    case 'ranking':
      if (!sample) return noRbm;
      return [
        facts(
          ['Sample user’s liked level ℓ (their mean rating, rounded up to a level)', formatLevel(sample.likedLevel)],
          ['p(like) of the worked prediction', formatPercent(sample.pLiked)],
        ),
      ];
  }
}
