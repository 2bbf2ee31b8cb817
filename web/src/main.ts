/**
 * Entry point of the page: checks the server (GET /api/health) for the rating scale, builds the
 * views and routes between them by the URL hash (#/discover, #/user/42, #/model, #/how-it-works), so views can be
 * bookmarked and the back button works.
 */
import { api, type Health } from './api.js';
import { errorState, loadingState } from './components.js';
import { byId, replaceChildren } from './dom.js';
import { formatCount } from './format.js';
import { browserStorage, VisitorRatings } from './visitor-ratings.js';
import { discoverView } from './views/discover.js';
import { howItWorksView } from './views/how-it-works.js';
import { modelView } from './views/model.js';
import { userView } from './views/user.js';
import type { View } from './views/view.js';

type RouteName = 'discover' | 'user' | 'model' | 'how-it-works';

const APP_NAME = 'Movie Recommender';

function parseRoute(hash: string): { name: RouteName; params: string[] } | null {
  if (hash === '' || hash === '#' || hash === '#/') return { name: 'discover', params: [] };
  if (!hash.startsWith('#/')) return null; // an in-page anchor such as the skip link
  const [name, ...params] = hash
    .slice(2)
    .split('/')
    .filter((s) => s !== '');
  if (name === 'user' || name === 'model' || name === 'discover' || name === 'how-it-works') return { name, params };
  return { name: 'discover', params: [] };
}

function describeHealth(health: Health): string {
  const parts: string[] = [];
  const data = health.data;
  if (data?.items !== undefined) parts.push(`${formatCount(data.items)} movies`);
  if (data?.users !== undefined) parts.push(`${formatCount(data.users)} users`);
  if (data?.ratings !== undefined) parts.push(`${formatCount(data.ratings)} ratings`);
  if (health.model) parts.push(`model version ${health.model.version}`);
  if (health.backend) parts.push(`tfjs ${health.backend} backend`);
  return parts.join(' · ');
}

async function start(): Promise<void> {
  const status = byId('app-status', HTMLDivElement);
  const viewsRoot = byId('views', HTMLDivElement);
  const footer = byId('health-summary', HTMLParagraphElement);
  const navLinks = [...document.querySelectorAll<HTMLAnchorElement>('.site-nav a[data-route]')];

  replaceChildren(status, loadingState('Connecting to the recommender…'));
  let health: Health;
  try {
    health = await api.health();
  } catch (error) {
    replaceChildren(
      status,
      errorState(error, () => void start()),
    );
    return;
  }
  const levels = health.ratingLevels;
  if (health.status !== 'ok' || !levels || levels.length < 2) {
    replaceChildren(
      status,
      errorState(new Error('The server is running but has no trained model to serve yet. Try again in a moment.'), () => void start()),
    );
    return;
  }
  status.replaceChildren();
  footer.textContent = describeHealth(health);

  const ratings = new VisitorRatings(browserStorage(), health.data?.items !== undefined ? `items-${health.data.items}` : '');
  ratings.keepOnlyLevels(levels);

  const views: Record<RouteName, View> = {
    discover: discoverView(ratings, levels),
    user: userView(levels, health.data?.users, (userId) => {
      location.hash = `#/user/${userId}`;
    }),
    model: modelView(ratings),
    'how-it-works': howItWorksView(),
  };
  for (const view of Object.values(views)) {
    view.element.hidden = true;
    viewsRoot.append(view.element);
  }

  let current: RouteName | null = null;
  const route = (moveFocus: boolean): void => {
    // An in-page anchor (the skip link) keeps the current view; on first load it means the default one.
    const target = parseRoute(location.hash) ?? (current === null ? { name: 'discover' as const, params: [] } : null);
    if (target === null) return;
    const view = views[target.name];
    if (current !== target.name) {
      for (const [name, v] of Object.entries(views)) v.element.hidden = name !== target.name;
      for (const link of navLinks) {
        if (link.dataset.route === target.name) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
      current = target.name;
      document.title = `${view.title} · ${APP_NAME}`;
      if (moveFocus) view.heading.focus({ preventScroll: true });
      if (moveFocus) window.scrollTo({ top: 0 });
    }
    view.show(target.params);
  };
  window.addEventListener('hashchange', () => route(true));
  route(false);
}

void start();
