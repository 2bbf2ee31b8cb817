/**
 * Rate & discover: browse or search the catalog, rate movies you know, and get recommendations folded in
 * from those ratings at once (POST /api/recommendations). Ratings live in localStorage (VisitorRatings)
 * and can be downloaded and loaded back as a file (../ratings-file.ts).
 *
 * A first visit opens on the popular movies (GET /api/items?sort=popular: most-rated, spread across
 * genres and decades), with "Highly rated" and A–Z orders, genre chips, and a prompt to rate about
 * RATINGS_GOAL movies with a count of those rated so far.
 */
import { ApiError, api, type Item, type ItemSort, type ScoredItem } from '../api.js';
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
import { parseRatingsFile, MAX_FILE_BYTES, ratingsToCsv, ratingsToJson, RatingsFileError } from '../ratings-file.js';
import type { VisitorRatings } from '../visitor-ratings.js';
import type { View } from './view.js';

const SEARCH_DEBOUNCE_MS = 250;
const PAGE_SIZE = 20;
const RECOMMENDATION_COUNT = 10;
/** Ratings the prompt asks a new visitor for: a prompt, not a measured threshold (see docs/page.md). */
export const RATINGS_GOAL = 10;
/** Item look-ups in flight at once while checking a loaded file's ids. */
const LOOKUP_CONCURRENCY = 6;

const SORTS: { sort: ItemSort; label: string; status: string }[] = [
  { sort: 'popular', label: 'Popular', status: 'Popular movies' },
  { sort: 'rating', label: 'Highly rated', status: 'Highly rated movies' },
  { sort: 'title', label: 'A–Z', status: 'All movies, A–Z' },
];

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

  // --- onboarding: how many to rate, and how far along ----------------------------------------------------
  const progressBar = h('progress', { class: 'goal-progress', max: RATINGS_GOAL, value: 0, 'aria-hidden': 'true' });
  const progressText = h('span', { class: 'goal-text' });
  const goal = h(
    'div',
    { class: 'goal', role: 'status', 'aria-live': 'polite' },
    h('p', { class: 'goal-prompt' }, progressText),
    progressBar,
  );

  // --- browse order and genre -----------------------------------------------------------------------------
  let sort: ItemSort = 'popular';
  let genre = '';
  const sortButtons = SORTS.map(({ sort: value, label }) =>
    h('button', { type: 'button', class: 'seg-button', 'aria-pressed': value === sort ? 'true' : 'false', 'data-sort': value }, label),
  );
  const sortGroup = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Order' }, ...sortButtons);
  const genreChips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Genre' });
  const setPressed = (buttons: Iterable<HTMLButtonElement>, pressed: (b: HTMLButtonElement) => boolean): void => {
    for (const b of buttons) b.setAttribute('aria-pressed', pressed(b) ? 'true' : 'false');
  };
  for (const button of sortButtons) {
    button.addEventListener('click', () => {
      sort = button.dataset.sort as ItemSort;
      setPressed(sortButtons, (b) => b === button);
      void runSearch();
    });
  }
  const chip = (label: string, value: string): HTMLButtonElement => {
    const button = h(
      'button',
      { type: 'button', class: 'chip', 'aria-pressed': value === genre ? 'true' : 'false', 'data-genre': value },
      label,
    );
    button.addEventListener('click', () => {
      genre = value;
      setPressed(genreChips.querySelectorAll('button'), (b) => b === button);
      void runSearch();
    });
    return button;
  };
  async function loadGenres(): Promise<void> {
    try {
      const { genres } = await api.genres();
      replaceChildren(genreChips, chip('All genres', ''), ...genres.filter((g) => g.toLowerCase() !== 'unknown').map((g) => chip(g, g)));
    } catch {
      // Without the list the page still browses all genres; no chips to offer.
      genreChips.replaceChildren();
    }
  }

  const searchPanel = h(
    'section',
    { class: 'panel panel-search', 'aria-labelledby': 'search-heading' },
    h('h2', { id: 'search-heading', class: 'panel-title' }, 'Find movies you know'),
    goal,
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
      h('p', { id: 'search-hint', class: 'field-hint' }, 'Results appear as you type, in the order below. Rate the ones you have seen.'),
    ),
    h('div', { class: 'browse-controls' }, sortGroup, genreChips),
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
  const fileInput = h('input', {
    type: 'file',
    accept: '.json,.csv,application/json,text/csv',
    class: 'visually-hidden',
    id: 'ratings-file',
    tabindex: '-1',
    'aria-hidden': 'true',
  });
  const fileStatus = h('div', { class: 'file-status', role: 'status', 'aria-live': 'polite' });
  const downloadJson = h('button', { type: 'button', class: 'button button-quiet', onclick: () => download('json') }, 'Download JSON');
  const downloadCsv = h('button', { type: 'button', class: 'button button-quiet', onclick: () => download('csv') }, 'CSV');
  const loadButton = h('button', { type: 'button', class: 'button button-quiet', onclick: () => fileInput.click() }, 'Load from file…');
  const fileTools = h('div', { class: 'file-tools' }, downloadJson, downloadCsv, loadButton, fileInput);
  const yoursBody = h('div', { class: 'yours-body' });
  const yoursCount = h('span', { class: 'count-badge' });
  const yoursPanel = h(
    'section',
    { class: 'panel panel-yours', 'aria-labelledby': 'yours-heading' },
    h('div', { class: 'panel-head' }, h('h2', { id: 'yours-heading', class: 'panel-title' }, 'Your ratings ', yoursCount), clearButton),
    h(
      'p',
      { class: 'panel-subtitle' },
      'Kept in this browser only. Change a rating with the stars, or remove it. Download them to keep a copy or move them to another browser.',
    ),
    fileTools,
    fileStatus,
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
      const page = await api.searchItems(q, PAGE_SIZE, offset, sort, genre === '' ? undefined : genre);
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
      const inGenre = genre === '' ? '' : ` in ${genre}`;
      if (page.total === 0) {
        searchStatus.replaceChildren(
          q === ''
            ? emptyState(genre === '' ? 'The catalog is empty.' : `No movies${inGenre}.`)
            : emptyState(`No movies match “${q}”${inGenre}.`, 'Check the spelling, or try a single word of the title.'),
        );
      } else if (shownQuery === '') {
        const label = SORTS.find((x) => x.sort === sort)?.status ?? 'Movies';
        searchStatus.textContent = `${label}${inGenre}: ${formatCount(shownCount)} of ${formatCount(page.total)}.`;
      } else {
        searchStatus.textContent = `${formatCount(page.total)} ${page.total === 1 ? 'movie matches' : 'movies match'} “${shownQuery}”${inGenre}${
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
      const trust = inputs.length < RATINGS_GOAL ? ` Still rough: about ${RATINGS_GOAL} ratings make them trustworthy.` : '';
      recsStatus.textContent = `Based on your ${inputs.length} ${inputs.length === 1 ? 'rating' : 'ratings'}.${trust} Predicted rating ± spread; the bars show how likely each star level is.`;
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

  function renderGoal(): void {
    const n = ratings.size;
    progressBar.value = Math.min(n, RATINGS_GOAL);
    goal.classList.toggle('goal-done', n >= RATINGS_GOAL);
    if (n === 0) {
      progressText.textContent = `Rate about ${RATINGS_GOAL} movies you have seen. Start with the popular ones below, or search for a title.`;
    } else if (n < RATINGS_GOAL) {
      progressText.textContent = `${n} of ${RATINGS_GOAL} rated. About ${RATINGS_GOAL - n} more and your recommendations settle.`;
    } else {
      progressText.textContent = `${n} rated: enough for recommendations you can rely on. More ratings keep refining them.`;
    }
  }

  /** "Your ratings" as a file: JSON (to load back) or CSV (for a spreadsheet). */
  function download(format: 'json' | 'csv'): void {
    const list = ratings.list();
    if (list.length === 0) {
      fileStatus.textContent = 'Nothing to download yet: rate a movie first.';
      return;
    }
    const text = format === 'json' ? ratingsToJson(list, ratings.catalogKey) : ratingsToCsv(list);
    const blob = new Blob([text], { type: format === 'json' ? 'application/json' : 'text/csv' });
    const link = h('a', { href: URL.createObjectURL(blob), download: `my-ratings.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    fileStatus.textContent = `Downloaded ${list.length} ${list.length === 1 ? 'rating' : 'ratings'} as my-ratings.${format}.`;
  }

  /**
   * Loads a ratings file: checked line by line (a bad entry refuses the whole file, naming it), then each
   * item id is looked up in this catalog; the known ones are added (replacing a rating of the same movie)
   * and the unknown ones are listed, not dropped in silence.
   */
  async function loadFile(file: File): Promise<void> {
    fileStatus.classList.remove('file-status-error');
    if (file.size > MAX_FILE_BYTES) {
      fail(`${file.name} is ${formatCount(file.size)} bytes; a ratings file is at most ${formatCount(MAX_FILE_BYTES)}.`);
      return;
    }
    let entries;
    try {
      entries = parseRatingsFile(await file.text(), levels);
    } catch (error) {
      fail(`${file.name} was not loaded: ${error instanceof RatingsFileError ? error.message : String(error)}.`);
      return;
    }
    fileStatus.replaceChildren(loadingState(`Checking ${entries.length} ratings against the catalog…`));
    const found: { item: Item; rating: number; ratedAt?: number }[] = [];
    const unknown: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const entry = entries[next++];
        try {
          found.push({ item: await api.item(entry.itemId), rating: entry.rating, ratedAt: entry.ratedAt });
        } catch (error) {
          if (error instanceof ApiError && error.code === 'unknown_item') unknown.push(entry.itemId);
          else throw error;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(LOOKUP_CONCURRENCY, entries.length) }, worker));
    } catch (error) {
      fileStatus.replaceChildren(errorState(error, () => void loadFile(file)));
      return;
    }
    ratings.setMany(found);
    unknown.sort((a, b) => a - b);
    const loaded = `Loaded ${found.length} ${found.length === 1 ? 'rating' : 'ratings'} from ${file.name}.`;
    if (unknown.length === 0) {
      fileStatus.textContent = loaded;
    } else {
      fail(
        `${loaded} ${unknown.length} ${unknown.length === 1 ? 'was' : 'were'} not: item ${unknown.length === 1 ? 'id' : 'ids'} ${unknown.join(', ')} ${
          unknown.length === 1 ? 'is' : 'are'
        } not in this catalog.`,
      );
    }
  }

  function fail(message: string): void {
    fileStatus.classList.add('file-status-error');
    fileStatus.textContent = message;
  }

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (file) void loadFile(file);
  });

  function renderYours(): void {
    const list = ratings.list();
    yoursCount.textContent = list.length > 0 ? String(list.length) : '';
    clearButton.hidden = list.length === 0;
    downloadJson.hidden = list.length === 0;
    downloadCsv.hidden = list.length === 0;
    renderGoal();
    // Re-rendering replaces the buttons: remember where keyboard focus was, to put it back.
    const active = document.activeElement;
    const focusedItem = active instanceof HTMLElement && yoursBody.contains(active) ? active.closest('li')?.dataset.itemId : undefined;
    const focusedValue = active instanceof HTMLElement ? active.dataset.value : undefined;
    const focusedIndex =
      focusedItem !== undefined ? [...yoursBody.querySelectorAll('li')].findIndex((li) => li.dataset.itemId === focusedItem) : -1;

    if (list.length === 0) {
      replaceChildren(
        yoursBody,
        emptyState('You have not rated anything yet.', 'Pick a number of stars for a movie you have seen, or load a ratings file.'),
      );
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
      void loadGenres();
      void runSearch();
    },
  };
}
