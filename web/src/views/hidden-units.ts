/**
 * The Model view's "Hidden units" panel: pick one of the user RBM's hidden units and see the movies that
 * switch it on and off (GET /api/model/hidden), and see which units the visitor's own ratings (kept in the
 * browser) or a data-set user's ratings switch on most (…/hidden/activations). Units are numbered 1 … F
 * on the page, as in the equations of the "How it works" view; the API numbers them from 0.
 */
import { ApiError, api, type HiddenUnitInfo, type HiddenUnitsResponse, type UnitActivationsResponse, type UnitMovie } from '../api.js';
import { emptyState, errorState, loadingState } from '../components.js';
import { h, replaceChildren } from '../dom.js';
import { displayTitle, formatCount, formatPercent } from '../format.js';
import type { VisitorRatings } from '../visitor-ratings.js';

/** Units listed for whose-ratings. */
const ACTIVATIONS_SHOWN = 5;

export interface HiddenUnitsPanel {
  readonly element: HTMLElement;
  /** (Re)loads what is stale: the units once per page, the visitor's activations when their ratings changed. */
  refresh(): void;
}

const unitName = (unit: number): string => `Unit ${unit + 1}`;
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;

export function hiddenUnitsPanel(ratings: VisitorRatings): HiddenUnitsPanel {
  const body = h('div', { class: 'hidden-body' });
  const element = h(
    'section',
    { class: 'panel panel-hidden', 'aria-labelledby': 'hidden-heading' },
    h('h2', { id: 'hidden-heading', class: 'panel-title' }, 'Hidden units'),
    h(
      'p',
      { class: 'panel-subtitle' },
      'Each hidden unit of the user RBM is a pattern of taste it found on its own. Loving the movies listed under “on” switches a unit on; once on, it raises their predicted ratings by the stars shown (the other units at their usual level), and lowers those listed under “off”.',
    ),
    body,
  );

  let units: HiddenUnitsResponse | null = null;
  let selected = 0;
  let loading = false;
  /** The ratings whose activations are shown: the visitor's (null) or a data-set user's id. */
  let whose: number | null = null;
  let shownFor = '';

  const unitSelect = h('select', { id: 'hidden-unit-select', class: 'select' });
  unitSelect.addEventListener('change', () => select(Number(unitSelect.value)));
  const lists = h('div', { class: 'unit-lists' });
  const activations = h('div', { class: 'activations', 'aria-live': 'polite' });
  const userInput = h('input', { id: 'hidden-user-id', type: 'number', min: '1', step: '1', inputmode: 'numeric', placeholder: 'e.g. 1' });

  async function load(): Promise<void> {
    if (loading) return;
    loading = true;
    element.setAttribute('aria-busy', 'true');
    replaceChildren(body, loadingState('Loading the hidden units…'));
    try {
      units = await api.hiddenUnits();
      // Start with the unit that moves predictions most: the most telling one.
      selected = units.units.reduce((best, u) => (u.strength > best.strength ? u : best), units.units[0]).unit;
      render(units);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        replaceChildren(body, emptyState('This model has no user RBM, so there are no movie-facing hidden units to show.', error.message));
      } else {
        replaceChildren(
          body,
          errorState(error, () => void load()),
        );
      }
    } finally {
      loading = false;
      element.setAttribute('aria-busy', 'false');
    }
    if (units) void loadActivations();
  }

  function render(info: HiddenUnitsResponse): void {
    replaceChildren(
      unitSelect,
      ...[...info.units]
        .sort((a, b) => a.unit - b.unit)
        .map((u) => h('option', { value: u.unit }, `${unitName(u.unit)} · moves ratings by ${u.strength.toFixed(2)} ★ on average`)),
    );
    unitSelect.value = String(selected);
    const userForm = h(
      'form',
      {
        class: 'inline-field hidden-user-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const value = userInput.value.trim();
          if (!/^\d+$/.test(value)) {
            userInput.setCustomValidity('Enter a user id: a whole number such as 1.');
            userInput.reportValidity();
            return;
          }
          whose = Number(value);
          void loadActivations();
        },
      },
      userInput,
      h('button', { type: 'submit', class: 'button button-secondary' }, 'Show their units'),
      h(
        'button',
        { type: 'button', class: 'button button-quiet', onclick: () => ((whose = null), void loadActivations()) },
        'Use my ratings',
      ),
    );
    userInput.addEventListener('input', () => userInput.setCustomValidity(''));
    replaceChildren(
      body,
      h(
        'p',
        { class: 'hidden-facts' },
        `${formatCount(info.hidden)} hidden units; movies with at least ${formatCount(info.minRatings)} training ratings (${formatCount(info.moviesConsidered)}) are listed.`,
      ),
      h(
        'div',
        { class: 'hidden-grid' },
        h(
          'div',
          { class: 'hidden-whose' },
          h('h3', { class: 'subsection-title' }, 'Units switched on most'),
          h('label', { for: 'hidden-user-id', class: 'field-label' }, 'Whose ratings: a data-set user id, or yours'),
          userForm,
          activations,
        ),
        h(
          'div',
          { class: 'hidden-unit' },
          h('label', { for: 'hidden-unit-select', class: 'field-label' }, 'Hidden unit'),
          unitSelect,
          lists,
        ),
      ),
    );
    renderLists();
  }

  function select(unit: number): void {
    selected = unit;
    unitSelect.value = String(unit);
    renderLists();
    for (const button of activations.querySelectorAll<HTMLButtonElement>('button[data-unit]')) {
      button.setAttribute('aria-pressed', String(Number(button.dataset.unit) === unit));
    }
  }

  function renderLists(): void {
    const unit = units?.units.find((u) => u.unit === selected);
    if (!unit) return;
    replaceChildren(lists, movieList(unit, 'on'), movieList(unit, 'off'));
  }

  async function loadActivations(): Promise<void> {
    if (!units) return;
    const key = whose === null ? `visitor:${JSON.stringify(ratings.inputs())}` : `user:${whose}`;
    if (key === shownFor) return;
    shownFor = key;
    if (whose === null && ratings.size === 0) {
      replaceChildren(
        activations,
        emptyState('You have not rated any movies yet.', 'Rate a few on “Rate & discover”, or enter a data-set user id above.'),
      );
      return;
    }
    activations.setAttribute('aria-busy', 'true');
    replaceChildren(activations, loadingState('Folding the ratings in…'));
    try {
      const result =
        whose === null
          ? await api.visitorActivations(ratings.inputs(), ACTIVATIONS_SHOWN)
          : await api.userActivations(whose, ACTIVATIONS_SHOWN);
      if (key === shownFor) renderActivations(result);
    } catch (error) {
      shownFor = '';
      if (error instanceof ApiError && error.code === 'unknown_user')
        replaceChildren(activations, emptyState(`No user ${whose} in the data set.`));
      else
        replaceChildren(
          activations,
          errorState(error, () => void loadActivations()),
        );
    } finally {
      activations.setAttribute('aria-busy', 'false');
    }
  }

  function renderActivations(result: UnitActivationsResponse): void {
    const count = `${formatCount(result.ratingsUsed)} ${result.ratingsUsed === 1 ? 'rating' : 'ratings'}`;
    const who = result.userId === null ? `your ${count}` : `user ${result.userId}’s ${count}`;
    replaceChildren(
      activations,
      h(
        'p',
        { class: 'activations-caption', id: 'activations-caption' },
        `The units ${who} switch on most, above their usual level. Pick one to see its movies.`,
      ),
      h(
        'ol',
        { class: 'activation-list', 'aria-labelledby': 'activations-caption' },
        ...result.units.map((a) =>
          h(
            'li',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'unit-chip',
                'data-unit': a.unit,
                'aria-pressed': String(a.unit === selected),
                onclick: () => select(a.unit),
              },
              h('span', { class: 'unit-chip-name' }, unitName(a.unit)),
              h('span', { class: 'unit-chip-value' }, `on ${formatPercent(a.probability)}`),
              h('span', { class: 'unit-chip-base' }, `usually ${formatPercent(a.baseRate)}`),
            ),
          ),
        ),
      ),
    );
  }

  return {
    element,
    refresh() {
      if (!units) void load();
      else void loadActivations();
    },
  };
}

function movieList(unit: HiddenUnitInfo, direction: 'on' | 'off'): HTMLElement {
  const movies = direction === 'on' ? unit.on : unit.off;
  const id = `unit-${direction}-heading`;
  const largest = Math.max(1e-9, ...[...unit.on, ...unit.off].map((m) => Math.abs(m.delta)));
  return h(
    'div',
    { class: `unit-list unit-list-${direction}` },
    h(
      'h3',
      { id, class: 'subsection-title' },
      direction === 'on' ? `Switch ${unitName(unit.unit).toLowerCase()} on` : `Switch ${unitName(unit.unit).toLowerCase()} off`,
    ),
    movies.length === 0
      ? emptyState(direction === 'on' ? 'No movie raises this unit.' : 'No movie lowers this unit.')
      : h('ol', { class: 'unit-movies', 'aria-labelledby': id }, ...movies.map((m) => movieRow(m, largest))),
  );
}

function movieRow(movie: UnitMovie, largest: number): HTMLElement {
  const width = Math.round((Math.abs(movie.delta) / largest) * 100);
  return h(
    'li',
    { class: 'unit-movie', 'data-item-id': movie.itemId },
    h(
      'span',
      { class: 'unit-movie-title' },
      movie.title === null ? `Movie ${movie.itemId}` : displayTitle(movie.title),
      movie.year !== null && h('span', { class: 'unit-movie-year' }, ` (${movie.year})`),
    ),
    h('span', { class: 'unit-movie-delta', title: 'Change of the predicted rating when the unit switches on' }, `${signed(movie.delta)} ★`),
    h('span', { class: 'delta-track', 'aria-hidden': 'true' }, h('span', { class: 'delta-bar', style: `width: ${width}%` })),
  );
}
