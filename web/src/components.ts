/** Pieces shared by the views: movie headings, the rating buttons, scored lists and the status states. */
import { ApiError, type BecauseItem, type Item, type ScoredItem } from './api.js';
import { distributionChart } from './charts.js';
import { h, type Child } from './dom.js';
import { displayTitle, formatLevel, formatPredicted, spread, starsLabel } from './format.js';

/** "1995 · Animation, Children's, Comedy". */
export function movieMeta(item: Item): HTMLElement {
  const parts: Child[] = [];
  if (item.year !== null) parts.push(h('span', { class: 'movie-year' }, item.year));
  if (item.genres.length > 0) {
    if (parts.length > 0) parts.push(h('span', { class: 'sep', 'aria-hidden': 'true' }, ' · '));
    parts.push(h('span', { class: 'movie-genres' }, item.genres.join(', ')));
  }
  return h('p', { class: 'movie-meta' }, ...parts);
}

export function movieTitle(item: Item, level: 'h3' | 'h4' = 'h3'): HTMLElement {
  return h(level, { class: 'movie-title' }, displayTitle(item.title));
}

/**
 * One `<button>` per rating level, named "Rate 4 stars", with aria-pressed marking the current rating.
 * Pressing the current rating again removes it (a toggle, as aria-pressed promises). The group carries
 * the item id so `syncRatingButtons` can update every control for a movie in place, keeping focus.
 */
export function ratingButtons(
  item: Item,
  levels: readonly number[],
  current: number | undefined,
  onRate: (rating: number | null) => void,
): HTMLElement {
  const group = h('div', {
    class: levels.length > 6 ? 'rating-buttons rating-buttons-many' : 'rating-buttons',
    role: 'group',
    'aria-label': `Your rating for ${displayTitle(item.title)}${item.year !== null ? ` (${item.year})` : ''}`,
    'data-item-id': item.itemId,
  });
  for (const level of levels) {
    const button = h(
      'button',
      {
        type: 'button',
        class: 'rate-button',
        'aria-label': `Rate ${starsLabel(level)}`,
        'aria-pressed': 'false',
        'data-value': level,
      },
      h('span', { class: 'rate-star', 'aria-hidden': 'true' }, '★'),
      h('span', { class: 'rate-value' }, formatLevel(level)),
    );
    button.addEventListener('click', () => onRate(button.getAttribute('aria-pressed') === 'true' ? null : level));
    group.append(button);
  }
  setRatingButtonsState(group, current);
  return group;
}

function setRatingButtonsState(group: Element, current: number | undefined): void {
  for (const button of group.querySelectorAll<HTMLButtonElement>('button[data-value]')) {
    const level = Number(button.dataset.value);
    const pressed = current !== undefined && Math.abs(current - level) < 1e-9;
    button.setAttribute('aria-pressed', pressed ? 'true' : 'false');
    button.classList.toggle('filled', current !== undefined && level <= current + 1e-9);
    button.title = pressed ? `Rated ${starsLabel(level)}; press again to remove` : `Rate ${starsLabel(level)}`;
  }
}

/** Brings every rating control under `root` in line with the current ratings. */
export function syncRatingButtons(root: Element, ratingOf: (itemId: number) => number | undefined): void {
  for (const group of root.querySelectorAll<HTMLElement>('.rating-buttons[data-item-id]')) {
    setRatingButtonsState(group, ratingOf(Number(group.dataset.itemId)));
  }
}

/** The predicted rating, how spread the distribution is, and the distribution as bars. */
export function predictionBlock(item: Pick<ScoredItem, 'predicted' | 'distribution'>, levels: readonly number[]): HTMLElement {
  if (item.predicted === null || item.distribution === null) {
    // A ranking-only model (or an item newer than the model): nothing to show as a rating.
    return h('div', { class: 'prediction' }, h('p', { class: 'prediction-value' }, 'No rating prediction'));
  }
  const sd = spread(item.distribution, levels);
  return h(
    'div',
    { class: 'prediction' },
    h(
      'p',
      { class: 'prediction-value' },
      h('span', { class: 'visually-hidden' }, 'Predicted rating '),
      h('span', { class: 'prediction-number' }, formatPredicted(item.predicted)),
      h('span', { class: 'prediction-star', 'aria-hidden': 'true' }, '★'),
      Number.isFinite(sd) &&
        h('span', { class: 'prediction-spread', title: 'Standard deviation of the predicted distribution' }, `± ${sd.toFixed(1)}`),
    ),
    item.distribution.length === levels.length && distributionChart(item.distribution, levels),
  );
}

/** The one line under every recommendation list that says what the order means. */
export const SCORE_EXPLANATION =
  'Ranked by the chance you would watch a movie and like it (4★ or more): one RBM learns what people choose to watch, another how they rate.';

/** An item's ranking score as a share: "87% match". */
export function matchBadge(score: number): HTMLElement {
  return h(
    'p',
    { class: 'match', title: 'Estimated chance you would watch this movie and rate it 4★ or more' },
    `${Math.round(score * 100)}% match`,
  );
}

/** What each kind of reason raised, as the page says it. */
const RAISES_TEXT: Record<BecauseItem['raises'], { tag: string; detail: string }> = {
  both: { tag: 'raises watch & like', detail: 'raises both the chance you would watch it and the chance you would like it' },
  like: { tag: 'raises like', detail: 'raises the chance you would like it (people who rated it so rate this one high)' },
  watch: {
    tag: 'raises watch',
    detail: 'raises the chance you would watch it (people who watched it watch this one), not how much you would like it',
  },
};

/**
 * "Because you rated Toy Story ★5 and Babe ★4 · raises watch & like": the ratings that raised this
 * recommendation most (the API's `because`), one line per part of the score they raised (watching,
 * liking, or both; those raising both first, as the API lists them). A rating below the "liked" level is
 * named as such: "you watched The Deer Hunter (★2, not liked)". Nothing when no rating stands out. The
 * title attribute gives each rating's influence on the match score.
 */
export function becauseLine(item: Pick<ScoredItem, 'because'>): HTMLElement | null {
  if (item.because.length === 0) return null;
  const name = (b: BecauseItem): string => (b.title === null ? `movie ${b.itemId}` : displayTitle(b.title));
  const groups = (['both', 'like', 'watch'] as const)
    .map((raises) => ({ raises, reasons: item.because.filter((b) => b.raises === raises) }))
    .filter((g) => g.reasons.length > 0);
  const lines = groups.map(({ raises, reasons }, n) => {
    const parts: Child[] = [n === 0 ? 'Because you ' : 'You ', raises === 'watch' ? 'watched ' : 'rated '];
    reasons.forEach((b, t) => {
      if (t > 0) parts.push(t === reasons.length - 1 ? ' and ' : ', ');
      parts.push(h('span', { class: 'because-title' }, name(b)));
      parts.push(
        b.liked ? ` ★${formatLevel(b.rating)}` : h('span', { class: 'because-disliked' }, ` (★${formatLevel(b.rating)}, not liked)`),
      );
    });
    return h(
      'span',
      { class: `because-reason because-${raises}`, title: RAISES_TEXT[raises].detail },
      ...parts,
      ' ',
      h('span', { class: 'because-tag' }, RAISES_TEXT[raises].tag),
    );
  });
  const detail = item.because.map((b) => `${name(b)} +${(b.influence * 100).toFixed(1)} (${RAISES_TEXT[b.raises].tag})`).join(', ');
  return h('p', { class: 'because', title: `Percentage points of match each rating adds: ${detail}` }, ...lines);
}

/** An ordered list of recommended movies with their predictions. */
export function scoredList(items: readonly ScoredItem[], levels: readonly number[], extra?: (item: ScoredItem) => Child): HTMLOListElement {
  return h(
    'ol',
    { class: 'scored-list' },
    ...items.map((item) =>
      h(
        'li',
        {
          class: 'scored-item',
          'data-item-id': item.itemId,
          'data-predicted': item.predicted?.toFixed(4) ?? '',
          'data-score': item.score.toFixed(4),
        },
        h('div', { class: 'scored-main' }, movieTitle(item), movieMeta(item), matchBadge(item.score), becauseLine(item), extra?.(item)),
        predictionBlock(item, levels),
      ),
    ),
  );
}

export function loadingState(text: string): HTMLElement {
  return h('p', { class: 'state state-loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

export function emptyState(title: string, detail?: string): HTMLElement {
  return h('div', { class: 'state state-empty' }, h('p', { class: 'state-title' }, title), detail !== undefined && h('p', {}, detail));
}

/** A visible error with what went wrong and, when the action can be repeated, a "Try again" button. */
export function errorState(error: unknown, retry?: () => void): HTMLElement {
  const apiError = error instanceof ApiError ? error : null;
  const title = apiError?.unreachable ? 'Server unreachable' : 'Something went wrong';
  const message = apiError ? apiError.message : error instanceof Error ? error.message : String(error);
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', { class: 'state-title' }, title),
    h('p', {}, message),
    retry && h('button', { type: 'button', class: 'button button-secondary', onclick: retry }, 'Try again'),
  );
}
