/**
 * Browse as a data-set user: their rated movies, their top recommendations, and predicted vs actual for
 * every movie they rated (GET /api/users/:id/ratings, /recommendations, /predictions).
 */
import { ApiError, api, type Item, type ScoredItem } from '../api.js';
import { emptyState, errorState, loadingState, movieMeta, movieTitle, SCORE_EXPLANATION, scoredList } from '../components.js';
import { h, replaceChildren, svg } from '../dom.js';
import { displayTitle, formatCount, formatLevel, formatPredicted, starsLabel } from '../format.js';
import type { View } from './view.js';

const RECOMMENDATION_COUNT = 10;
/** The predictions endpoint takes at most 1000 ids per request; stay well under it. */
const PREDICTION_CHUNK = 400;
const ROWS_SHOWN = 25;

interface Row {
  item: Item;
  /** The user's actual rating. */
  actual: number;
  /** The model's expected rating; null when the served model does not know the item. */
  predicted: number | null;
}

type SortKey = 'rating' | 'error' | 'title';

export function userView(levels: readonly number[], userCount: number | undefined, navigateToUser: (userId: number) => void): View {
  const heading = h('h1', { class: 'view-title', tabindex: '-1' }, 'Browse a data-set user');
  const idInput = h('input', {
    type: 'number',
    id: 'user-id',
    name: 'userId',
    min: '0',
    step: '1',
    inputmode: 'numeric',
    required: true,
    placeholder: 'e.g. 1',
    'aria-describedby': 'user-id-hint',
  });
  const form = h(
    'form',
    {
      class: 'user-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const value = idInput.value.trim();
        if (!/^\d+$/.test(value)) {
          idInput.setCustomValidity('Enter a user id: a whole number such as 1.');
          idInput.reportValidity();
          return;
        }
        // Load here (not only on the route change) so that submitting the same id again retries it.
        void load(Number(value));
        navigateToUser(Number(value));
      },
    },
    h('label', { for: 'user-id', class: 'field-label' }, 'User id'),
    h(
      'div',
      { class: 'inline-field' },
      idInput,
      h('button', { type: 'submit', class: 'button button-primary' }, 'Show user'),
      userCount !== undefined &&
        userCount > 0 &&
        h(
          'button',
          {
            type: 'button',
            class: 'button button-secondary',
            // Data-set user ids run from 1 (MovieLens and the demo catalog number them consecutively).
            onclick: () => {
              const userId = 1 + Math.floor(Math.random() * userCount);
              idInput.value = String(userId);
              void load(userId);
              navigateToUser(userId);
            },
          },
          'Random user',
        ),
    ),
    h(
      'p',
      { id: 'user-id-hint', class: 'field-hint' },
      `A user id from the data set: ids start at 1${userCount !== undefined ? `, and there are ${formatCount(userCount)} users` : ''}.`,
    ),
  );
  idInput.addEventListener('input', () => idInput.setCustomValidity(''));

  const body = h('div', { class: 'user-body' });
  const element = h(
    'div',
    { class: 'view view-user' },
    h(
      'header',
      { class: 'view-header' },
      heading,
      h(
        'p',
        { class: 'view-lead' },
        'See the data through one user’s eyes: what they rated, what the model recommends for them, and how close its predictions come to their actual ratings.',
      ),
    ),
    h('div', { class: 'panel panel-form' }, form),
    body,
  );

  let seq = 0;
  let currentUser: number | null = null;

  async function load(userId: number): Promise<void> {
    const mySeq = ++seq;
    currentUser = userId;
    body.setAttribute('aria-busy', 'true');
    replaceChildren(body, loadingState(`Loading user ${userId}…`));
    try {
      const [ratings, recs] = await Promise.all([api.userRatings(userId), api.userRecommendations(userId, RECOMMENDATION_COUNT)]);
      const ids = ratings.ratings.map((r) => r.itemId);
      const chunks: number[][] = [];
      for (let i = 0; i < ids.length; i += PREDICTION_CHUNK) chunks.push(ids.slice(i, i + PREDICTION_CHUNK));
      const answers = await Promise.all(chunks.map((chunk) => api.userPredictions(userId, chunk)));
      if (mySeq !== seq) return;
      const predicted = new Map(answers.flatMap((a) => a.predictions).map((p) => [p.itemId, p.predicted]));
      const rows = ratings.ratings.map((r): Row => ({
        item: { itemId: r.itemId, title: r.title ?? `Movie ${r.itemId} (no longer in the catalog)`, year: r.year, genres: r.genres },
        actual: r.rating,
        predicted: predicted.get(r.itemId) ?? null,
      }));
      render(userId, rows, recs.items);
    } catch (error) {
      if (mySeq !== seq) return;
      if (error instanceof ApiError && error.status === 404) {
        replaceChildren(body, emptyState(`No user ${userId} in the data set.`, 'Check the id and try another one.'));
      } else {
        replaceChildren(
          body,
          errorState(error, () => void load(userId)),
        );
      }
    } finally {
      if (mySeq === seq) body.setAttribute('aria-busy', 'false');
    }
  }

  function render(userId: number, rows: Row[], recs: ScoredItem[]): void {
    const errors = rows.flatMap((r) => (r.predicted === null ? [] : [r.predicted - r.actual]));
    const rmse = errors.length > 0 ? Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length) : NaN;
    const mae = errors.length > 0 ? errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length : NaN;
    const mean = rows.length > 0 ? rows.reduce((s, r) => s + r.actual, 0) / rows.length : NaN;

    const stats = h(
      'dl',
      { class: 'stat-row' },
      stat('Ratings', formatCount(rows.length)),
      stat('Their mean rating', Number.isFinite(mean) ? mean.toFixed(2) : '—'),
      stat('RMSE on their ratings', Number.isFinite(rmse) ? rmse.toFixed(3) : '—'),
      stat('MAE on their ratings', Number.isFinite(mae) ? mae.toFixed(3) : '—'),
    );

    const recsSection = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'user-recs-heading' },
      h('h2', { id: 'user-recs-heading', class: 'panel-title' }, `Top recommendations for user ${userId}`),
      h('p', { class: 'panel-subtitle' }, `Movies they have not rated. ${SCORE_EXPLANATION}`),
      recs.length === 0 ? emptyState('No recommendations.', 'This user has rated every movie the model knows.') : scoredList(recs, levels),
    );

    const ratedSection = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'user-rated-heading' },
      h('h2', { id: 'user-rated-heading', class: 'panel-title' }, 'Rated movies: predicted vs actual'),
      h(
        'p',
        { class: 'panel-subtitle' },
        'The model’s prediction for each movie this user rated. These ratings were part of training, so the fit is closer than on unseen data.',
      ),
      rows.length === 0 ? emptyState('This user has not rated any movies.') : comparisonTable(rows),
    );

    replaceChildren(
      body,
      h('h2', { class: 'user-heading' }, `User ${userId}`),
      stats,
      h('div', { class: 'user-grid' }, ratedSection, recsSection),
    );
  }

  function comparisonTable(rows: Row[]): HTMLElement {
    let sortKey: SortKey = 'rating';
    let expanded = false;
    const tbody = h('tbody');
    const more = h('button', { type: 'button', class: 'button button-secondary more-button' });
    const sortSelect = h(
      'select',
      { id: 'user-sort', class: 'select' },
      h('option', { value: 'rating' }, 'Their rating'),
      h('option', { value: 'error' }, 'Largest miss'),
      h('option', { value: 'title' }, 'Title'),
    );

    const sorted = (): Row[] => {
      const copy = [...rows];
      const miss = (r: Row): number => (r.predicted === null ? -1 : Math.abs(r.predicted - r.actual));
      const byTitle = (a: Row, b: Row): number => displayTitle(a.item.title).localeCompare(displayTitle(b.item.title));
      if (sortKey === 'rating') copy.sort((a, b) => b.actual - a.actual || byTitle(a, b));
      if (sortKey === 'error') copy.sort((a, b) => miss(b) - miss(a) || byTitle(a, b));
      if (sortKey === 'title') copy.sort(byTitle);
      return copy;
    };

    const fill = (): void => {
      const all = sorted();
      const shown = expanded ? all : all.slice(0, ROWS_SHOWN);
      replaceChildren(tbody, ...shown.map(tableRow));
      more.hidden = all.length <= ROWS_SHOWN;
      more.textContent = expanded ? 'Show fewer' : `Show all ${formatCount(all.length)}`;
    };
    sortSelect.addEventListener('change', () => {
      sortKey = sortSelect.value as SortKey;
      fill();
    });
    more.addEventListener('click', () => {
      expanded = !expanded;
      fill();
    });
    fill();

    return h(
      'div',
      { class: 'comparison' },
      h(
        'div',
        { class: 'table-tools' },
        h('label', { for: 'user-sort', class: 'field-label field-label-inline' }, 'Sort by'),
        sortSelect,
        h(
          'span',
          { class: 'compare-legend', 'aria-hidden': 'true' },
          h('span', { class: 'legend-actual' }),
          'actual',
          h('span', { class: 'legend-predicted' }),
          'predicted',
        ),
      ),
      h(
        'table',
        { class: 'compare-table' },
        h('caption', { class: 'visually-hidden' }, 'Each movie the user rated, with their actual rating and the model’s predicted rating'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Movie'),
            h('th', { scope: 'col', class: 'num' }, 'Actual'),
            h('th', { scope: 'col', class: 'num' }, 'Predicted'),
            h('th', { scope: 'col', class: 'compare-col' }, h('span', { class: 'visually-hidden' }, 'Comparison')),
          ),
        ),
        tbody,
      ),
      more,
    );
  }

  function tableRow({ item, actual, predicted }: Row): HTMLTableRowElement {
    return h(
      'tr',
      { 'data-item-id': item.itemId },
      h('th', { scope: 'row', class: 'movie-cell' }, movieTitle(item, 'h4'), movieMeta(item)),
      h('td', { class: 'num', title: starsLabel(actual) }, formatLevel(actual)),
      h('td', { class: 'num' }, predicted === null ? h('span', { title: 'Not in the served model' }, '—') : formatPredicted(predicted)),
      h('td', { class: 'compare-col' }, predicted === null ? null : compareBar(actual, predicted)),
    );
  }

  /** Actual (filled dot) and predicted (ring) on the rating scale, joined by a line whose length is the miss. */
  function compareBar(actual: number, predicted: number): SVGSVGElement {
    const width = 120;
    const height = 16;
    const lo = levels[0];
    const hi = levels[levels.length - 1];
    const x = (v: number): number => 6 + ((v - lo) / (hi - lo || 1)) * (width - 12);
    return svg(
      'svg',
      { class: 'compare-bar', width, height, viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true' },
      svg('line', { class: 'compare-track', x1: 6, x2: width - 6, y1: 8, y2: 8 }),
      svg('line', { class: 'compare-miss', x1: x(actual), x2: x(predicted), y1: 8, y2: 8 }),
      svg('circle', { class: 'compare-actual', cx: x(actual), cy: 8, r: 4 }),
      svg('circle', { class: 'compare-predicted', cx: x(predicted), cy: 8, r: 4 }),
    );
  }

  return {
    element,
    heading,
    title: 'Browse a user',
    show(params) {
      const raw = params[0];
      if (raw === undefined || !/^\d+$/.test(raw)) {
        if (currentUser === null)
          replaceChildren(body, emptyState('Pick a user to begin.', 'Enter a user id above to see their ratings and recommendations.'));
        return;
      }
      const userId = Number(raw);
      idInput.value = String(userId);
      if (userId !== currentUser) void load(userId);
    },
  };
}

function stat(label: string, value: string): HTMLElement {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
}
