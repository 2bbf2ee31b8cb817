/**
 * Rate & discover: search the catalog, rate movies you know, and get recommendations folded in from those
 * ratings at once (POST /api/recommendations). Ratings live in localStorage (VisitorRatings).
 */
import { ApiError, api, type Item, type ScoredItem } from '../api.js';
import {
  emptyState,
  errorState,
  loadingState,
  movieMeta,
  movieTitle,
  ratingButtons,
  scoredList,
  SCORE_EXPLANATION,
  syncRatingButtons,
} from '../components.js';
import { h, replaceChildren, svg } from '../dom.js';
import { displayTitle, formatCount, starsLabel } from '../format.js';
import type { VisitorRatings } from '../visitor-ratings.js';
import type { View } from './view.js';

const SEARCH_DEBOUNCE_MS = 250;
const PAGE_SIZE = 20;
const RECOMMENDATION_COUNT = 10;

export function discoverView(ratings: VisitorRatings, levels: readonly number[]): View {
  const heading = h('h1', { class: 'view-title', tabindex: '-1' }, 'Rate & discover');

  // --- search -------------------------------------------------------------------------------------------
  const searchInput = h('input', {
    type: 'search',
    id: 'movie-search',
    name: 'search',
    placeholder: 'Title, e.g. Toy Story',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'search-hint',
    'aria-controls': 'search-results',
  });
  const searchStatus = h('div', { class: 'search-status', role: 'status', 'aria-live': 'polite' });
  const resultList = h('ul', { class: 'result-list', id: 'search-results', 'aria-label': 'Search results' });
  const moreButton = h('button', { type: 'button', class: 'button button-secondary more-button', hidden: true }, 'Show more');
  const resultArea = h('div', { class: 'result-area' }, resultList, moreButton);

  const searchPanel = h(
    'section',
    { class: 'panel panel-search', 'aria-labelledby': 'search-heading' },
    h('h2', { id: 'search-heading', class: 'panel-title' }, 'Find movies you know'),
    h(
      'form',
      {
        role: 'search',
        class: 'search-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          runSearch();
        },
      },
      h('label', { for: 'movie-search', class: 'field-label' }, 'Search movies by title'),
      h(
        'div',
        { class: 'search-field' },
        svg(
          'svg',
          { class: 'search-icon', width: 18, height: 18, viewBox: '0 0 24 24', 'aria-hidden': 'true' },
          svg('circle', { cx: 11, cy: 11, r: 7 }),
          svg('path', { d: 'M20 20 L16.2 16.2' }),
        ),
        searchInput,
      ),
      h('p', { id: 'search-hint', class: 'field-hint' }, 'Results appear as you type. Rate the ones you have seen.'),
    ),
    searchStatus,
    resultArea,
  );

  // Narrow screens stack the recommendations below the results: a way down to them once there are some.
  const jumpButton = h(
    'button',
    {
      type: 'button',
      class: 'button button-secondary jump-button',
      hidden: true,
      onclick: () => {
        const title = recsPanel.querySelector<HTMLElement>('h2');
        title?.setAttribute('tabindex', '-1');
        title?.focus({ preventScroll: true });
        recsPanel.scrollIntoView({ block: 'start', behavior: 'smooth' });
      },
    },
    'See your recommendations',
    h('span', { 'aria-hidden': 'true' }, ' ↓'),
  );
  searchPanel.append(jumpButton);

  // --- recommendations ----------------------------------------------------------------------------------
  const recsStatus = h('p', { class: 'panel-subtitle' });
  const recsBody = h('div', { class: 'recs-body' });
  const recsPanel = h(
    'section',
    { class: 'panel panel-recs', 'aria-labelledby': 'recs-heading', 'aria-busy': 'false' },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', { id: 'recs-heading', class: 'panel-title' }, 'Recommendations'),
      h('span', { class: 'updating', 'aria-hidden': 'true' }, h('span', { class: 'spinner' }), 'Updating'),
    ),
    h('p', { class: 'panel-subtitle' }, SCORE_EXPLANATION),
    recsStatus,
    recsBody,
  );

  // --- your ratings -------------------------------------------------------------------------------------
  const clearButton = h(
    'button',
    {
      type: 'button',
      class: 'button button-quiet',
      onclick: () => {
        if (window.confirm('Remove all your ratings from this browser?')) ratings.clear();
      },
    },
    'Clear all',
  );
  const yoursBody = h('div', { class: 'yours-body' });
  const yoursCount = h('span', { class: 'count-badge' });
  const yoursPanel = h(
    'section',
    { class: 'panel panel-yours', 'aria-labelledby': 'yours-heading' },
    h('div', { class: 'panel-head' }, h('h2', { id: 'yours-heading', class: 'panel-title' }, 'Your ratings ', yoursCount), clearButton),
    h('p', { class: 'panel-subtitle' }, 'Kept in this browser only. Change a rating with the stars, or remove it.'),
    yoursBody,
  );

  const element = h(
    'div',
    { class: 'view view-discover' },
    h(
      'header',
      { class: 'view-header' },
      heading,
      h(
        'p',
        { class: 'view-lead' },
        'Rate a few movies you know. The model folds your ratings in instantly, without retraining, and predicts how you would rate the rest.',
      ),
    ),
    h('div', { class: 'discover-grid' }, searchPanel, recsPanel, yoursPanel),
  );

  // --- behaviour ----------------------------------------------------------------------------------------
  const rate = (item: Item, rating: number | null): void => {
    if (rating === null) ratings.remove(item.itemId);
    else ratings.set(item, rating);
  };

  let searchTimer: number | undefined;
  let searchSeq = 0;
  let shownQuery = '';
  let shownCount = 0;

  function resultItem(item: Item): HTMLLIElement {
    return h(
      'li',
      { class: 'result-item', 'data-item-id': item.itemId },
      h('div', { class: 'result-text' }, movieTitle(item), movieMeta(item)),
      ratingButtons(item, levels, ratings.ratingOf(item.itemId), (rating) => rate(item, rating)),
    );
  }

  async function runSearch(append = false): Promise<void> {
    window.clearTimeout(searchTimer);
    const q = searchInput.value.trim();
    const seq = ++searchSeq;
    const offset = append ? shownCount : 0;
    if (!append) {
      resultArea.setAttribute('aria-busy', 'true');
      searchStatus.replaceChildren(loadingState(q === '' ? 'Loading the catalog…' : `Searching for “${q}”…`));
    } else {
      moreButton.disabled = true;
    }
    try {
      const page = await api.searchItems(q, PAGE_SIZE, offset);
      if (seq !== searchSeq) return; // a newer search has started
      if (!append) {
        replaceChildren(resultList, ...page.items.map(resultItem));
        shownQuery = q;
      } else {
        resultList.append(...page.items.map(resultItem));
      }
      shownCount = offset + page.items.length;
      moreButton.hidden = shownCount >= page.total || page.items.length === 0;
      moreButton.disabled = false;
      if (page.total === 0) {
        searchStatus.replaceChildren(
          q === ''
            ? emptyState('The catalog is empty.')
            : emptyState(`No movies match “${q}”.`, 'Check the spelling, or try a single word of the title.'),
        );
      } else if (shownQuery === '') {
        searchStatus.textContent = `Browsing the catalog: ${formatCount(shownCount)} of ${formatCount(page.total)} movies.`;
      } else {
        searchStatus.textContent = `${formatCount(page.total)} ${page.total === 1 ? 'movie matches' : 'movies match'} “${shownQuery}”${
          shownCount < page.total ? `, showing ${formatCount(shownCount)}` : ''
        }.`;
      }
    } catch (error) {
      if (seq !== searchSeq) return;
      moreButton.disabled = false;
      if (!append) {
        resultList.replaceChildren();
        moreButton.hidden = true;
      }
      searchStatus.replaceChildren(errorState(error, () => void runSearch(append)));
    } finally {
      if (seq === searchSeq) resultArea.setAttribute('aria-busy', 'false');
    }
  }

  searchInput.addEventListener('input', () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => void runSearch(), SEARCH_DEBOUNCE_MS);
  });
  moreButton.addEventListener('click', () => void runSearch(true));

  let recsSeq = 0;
  let lastRecs: ScoredItem[] | null = null;

  async function refreshRecommendations(): Promise<void> {
    const seq = ++recsSeq;
    const inputs = ratings.inputs();
    if (inputs.length === 0) {
      lastRecs = null;
      jumpButton.hidden = true;
      recsPanel.setAttribute('aria-busy', 'false');
      recsStatus.textContent = 'Personal picks, with how sure the model is about each.';
      replaceChildren(
        recsBody,
        emptyState('No recommendations yet.', 'Rate one or more movies you have seen and your recommendations appear here.'),
      );
      return;
    }
    recsPanel.setAttribute('aria-busy', 'true');
    if (lastRecs === null) replaceChildren(recsBody, loadingState('Finding movies for you…'));
    try {
      const { items } = await api.visitorRecommendations(inputs, RECOMMENDATION_COUNT);
      if (seq !== recsSeq) return;
      lastRecs = items;
      jumpButton.hidden = items.length === 0;
      recsStatus.textContent = `Based on your ${inputs.length} ${inputs.length === 1 ? 'rating' : 'ratings'}. Predicted rating ± spread; the bars show how likely each star level is.`;
      replaceChildren(
        recsBody,
        items.length === 0
          ? emptyState('Nothing left to recommend.', 'You have rated every movie the model knows.')
          : scoredList(items, levels),
      );
    } catch (error) {
      if (seq !== recsSeq) return;
      // A stored rating of a movie this catalog does not have (the server's data changed): drop it, which
      // triggers a fresh request through the ratings listener.
      const unknownId = error instanceof ApiError && error.code === 'unknown_item' ? /\d+/.exec(error.message)?.[0] : undefined;
      if (unknownId !== undefined && ratings.ratingOf(Number(unknownId)) !== undefined) {
        ratings.remove(Number(unknownId));
        return;
      }
      lastRecs = null;
      replaceChildren(
        recsBody,
        errorState(error, () => void refreshRecommendations()),
      );
    } finally {
      if (seq === recsSeq) recsPanel.setAttribute('aria-busy', 'false');
    }
  }

  function renderYours(): void {
    const list = ratings.list();
    yoursCount.textContent = list.length > 0 ? String(list.length) : '';
    clearButton.hidden = list.length === 0;
    // Re-rendering replaces the buttons: remember where keyboard focus was, to put it back.
    const active = document.activeElement;
    const focusedItem = active instanceof HTMLElement && yoursBody.contains(active) ? active.closest('li')?.dataset.itemId : undefined;
    const focusedValue = active instanceof HTMLElement ? active.dataset.value : undefined;
    const focusedIndex =
      focusedItem !== undefined ? [...yoursBody.querySelectorAll('li')].findIndex((li) => li.dataset.itemId === focusedItem) : -1;

    if (list.length === 0) {
      replaceChildren(yoursBody, emptyState('You have not rated anything yet.', 'Search for a movie above and pick a number of stars.'));
    } else {
      replaceChildren(
        yoursBody,
        h(
          'ul',
          { class: 'yours-list' },
          ...list.map((r) =>
            h(
              'li',
              { class: 'yours-item', 'data-item-id': r.itemId },
              h('div', { class: 'result-text' }, movieTitle(r), movieMeta(r)),
              h(
                'div',
                { class: 'yours-actions' },
                ratingButtons(r, levels, r.rating, (rating) => rate(r, rating)),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'button button-quiet remove-button',
                    'aria-label': `Remove your rating of ${displayTitle(r.title)} (${starsLabel(r.rating)})`,
                    onclick: () => ratings.remove(r.itemId),
                  },
                  'Remove',
                ),
              ),
            ),
          ),
        ),
      );
    }
    if (focusedItem !== undefined) {
      const items = [...yoursBody.querySelectorAll<HTMLLIElement>('li')];
      const same = items.find((li) => li.dataset.itemId === focusedItem);
      const target =
        (same && focusedValue !== undefined ? same.querySelector<HTMLElement>(`button[data-value="${focusedValue}"]`) : null) ??
        same?.querySelector<HTMLElement>('.remove-button') ??
        items[Math.min(focusedIndex, items.length - 1)]?.querySelector<HTMLElement>('.remove-button') ??
        yoursPanel.querySelector<HTMLElement>('h2');
      if (target) {
        if (target.tagName === 'H2') target.setAttribute('tabindex', '-1');
        target.focus();
      }
    }
  }

  ratings.subscribe(() => {
    syncRatingButtons(resultList, (id) => ratings.ratingOf(id));
    renderYours();
    void refreshRecommendations();
  });

  let started = false;
  return {
    element,
    heading,
    title: 'Rate & discover',
    show() {
      if (started) return;
      started = true;
      renderYours();
      void refreshRecommendations();
      void runSearch();
    },
  };
}
