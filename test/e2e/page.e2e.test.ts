/**
 * End-to-end: the web page in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
 * against the real server (`launch`) over a fresh SQLite file seeded with the demo catalog.
 *
 * The page is built first (buildWeb), so the test does not depend on `npm run build:web` having run.
 * Every page the test drives is watched: console errors, uncaught exceptions, failed requests and HTTP
 * error answers are collected and must stay empty. Screenshots at 390 px and 1280 px are written to
 * test-results/screenshots/.
 */
import path from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecommendationsResponse } from '../../src/api/types.js';
import type { LaunchedServer } from '../../src/server/main.js';
import { PHONE, SCREENSHOT_DIR, openBrowserSession, watchPage, type BrowserSession } from '../helpers/browser.js';
import { expectNoSidewaysScroll, recommendations, searchResults, settled, yourRatings } from '../helpers/pageParts.js';
import { displayTitle } from '../../web/src/format.js';

/** Problems seen by the browser on the pages under watch; asserted empty at the end. */
const problems: string[] = [];
/** URLs whose failure a step provokes on purpose (e.g. an unknown user's 404). */
const expectedFailures: RegExp[] = [];
const expected = (url: string): boolean => expectedFailures.some((pattern) => pattern.test(url));

const watch = (page: Page): Page => watchPage(page, problems, expected);

let server: LaunchedServer;
let context: BrowserContext;
let page: Page;

let session: BrowserSession | undefined;

beforeAll(async () => {
  session = await openBrowserSession('rbm-e2e-', watch);
  ({ server, context, page } = session);
});

afterAll(async () => {
  await session?.close();
});

/** What the visitor sees in the recommendations: titles with their predicted ratings (4 decimals). */
async function recommendationSignature(p: Page): Promise<string> {
  return (
    await recommendations(p).evaluateAll((items) =>
      items.map((li) => `${li.querySelector('.movie-title')?.textContent ?? ''}=${(li as HTMLElement).dataset.predicted ?? ''}`),
    )
  ).join(' | ');
}

/** The `n`th search result's 5-star button's aria-pressed ("true" or "false"). */
const fiveStarsPressed = (n: number): Promise<string | null> =>
  searchResults(page)
    .nth(n)
    .getByRole('button', { name: /Rate 5 stars/ })
    .getAttribute('aria-pressed');

describe('the recommendation page in Chromium', () => {
  it('loads, and the search box is reachable from the keyboard', async () => {
    await page.goto(server.url);
    await page.getByRole('heading', { level: 1, name: 'Rate & discover' }).waitFor();
    await page.getByRole('region', { name: 'Recommendations' }).getByText('No recommendations yet.').waitFor();

    const searchbox = page.getByRole('searchbox', { name: 'Search movies by title' });
    let reached = false;
    for (let presses = 0; presses < 12 && !reached; presses++) {
      await page.keyboard.press('Tab');
      reached = await searchbox.evaluate((el) => el === document.activeElement);
    }
    expect(reached).toBe(true);
  });

  it('searches as you type and says so when nothing matches', async () => {
    const searchbox = page.getByRole('searchbox');
    await searchbox.pressSequentially('zzqqxxj', { delay: 20 });
    await page.getByText('No movies match “zzqqxxj”.').waitFor();
    expect(await searchResults(page).count()).toBe(0);

    await searchbox.fill('');
    await searchbox.pressSequentially('toy', { delay: 20 });
    await page.getByText(/movies? match(es)? “toy”/).waitFor();
    const results = searchResults(page);
    expect(await results.count()).toBeGreaterThanOrEqual(2);
    const texts = await results.allInnerTexts();
    for (const text of texts) expect(text.toLowerCase()).toContain('toy');
    // Each result shows its rating buttons, one per level of the loaded scale, none pressed yet.
    const firstButtons = results.first().getByRole('button', { name: /^Rate \d+(\.5)? stars?$/ });
    expect(await firstButtons.count()).toBeGreaterThanOrEqual(5);
    expect(
      await results
        .first()
        .getByRole('button', { name: /Rate 4 stars/ })
        .getAttribute('aria-pressed'),
    ).toBe('false');
  });

  it('rating two movies makes recommendations appear, then change', async () => {
    const results = searchResults(page);
    const first = results.nth(0);
    const second = results.nth(1);
    const firstTitle = (await first.locator('.movie-title').innerText()).trim();
    const secondTitle = (await second.locator('.movie-title').innerText()).trim();

    const rateFour = first.getByRole('button', { name: /Rate 4 stars/ });
    await rateFour.click();
    expect(await rateFour.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => recommendations(page).count()).toBeGreaterThan(0);
    await settled(page);
    const afterOne = await recommendationSignature(page);
    // The recommendations never include a movie the visitor rated.
    expect(afterOne).not.toContain(`${firstTitle}=`);
    // Each recommendation shows its predicted rating and the distribution as a chart with a text alternative.
    const top = recommendations(page).first();
    expect(await top.getByText(/^\d\.\d$/).count()).toBeGreaterThan(0);
    const chartLabel = await top.getByRole('img').getAttribute('aria-label');
    expect(chartLabel).toMatch(/^Predicted rating distribution: .*\d+%/);

    // The second rating is given from the keyboard.
    const rateTwo = second.getByRole('button', { name: /Rate 2 stars/ });
    await rateTwo.focus();
    await page.keyboard.press('Space');
    expect(await rateTwo.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => recommendationSignature(page)).not.toBe(afterOne);
    await settled(page);
    expect(await recommendationSignature(page)).not.toContain(`${secondTitle}=`);

    // "Because you rated …" (where a rating stands out; with two ratings there may be none): only the
    // visitor's own ratings, with the stars they gave (the 2★ one named as not liked), each line saying
    // which part of the score it raised.
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const rated = `(${escape(firstTitle)} ★4|${escape(secondTitle)} \\(★2, not liked\\))`;
    for (const line of await recommendations(page).locator('.because-reason').allInnerTexts()) {
      expect(line.trim()).toMatch(
        new RegExp(`^(Because you|You) (rated|watched) ${rated}( and ${rated})? raises (watch & like|watch|like)$`),
      );
    }

    await expect.poll(() => yourRatings(page).count()).toBe(2);
    const stored = await page.evaluate(() => Object.values(localStorage).join(''));
    expect(stored).toContain('"rating":4');
    expect(stored).toContain('"rating":2');
  });

  it('changes and removes a rating from "Your ratings", and keeps ratings across a reload', async () => {
    const mine = yourRatings(page);
    const secondRated = mine.first(); // most recent first
    await secondRated.getByRole('button', { name: /Rate 5 stars/ }).click();
    expect(await secondRated.getByRole('button', { name: /Rate 5 stars/ }).getAttribute('aria-pressed')).toBe('true');
    expect(await secondRated.getByRole('button', { name: /Rate 2 stars/ }).getAttribute('aria-pressed')).toBe('false');
    // The search result's buttons follow the change.
    expect(await fiveStarsPressed(1)).toBe('true');
    await settled(page);
    const beforeRemoval = await recommendationSignature(page);

    await secondRated.getByRole('button', { name: /^Remove/ }).click();
    await expect.poll(() => yourRatings(page).count()).toBe(1);
    await expect.poll(() => recommendationSignature(page)).not.toBe(beforeRemoval);
    expect(await fiveStarsPressed(1)).toBe('false');

    // Back to two ratings for the screenshots, then reload: they come back from localStorage.
    await searchResults(page)
      .nth(1)
      .getByRole('button', { name: /Rate 3 stars/ })
      .click();
    await expect.poll(() => yourRatings(page).count()).toBe(2);
    await settled(page); // reloading with the recommendations request in flight would abort it
    await page.reload();
    await expect.poll(() => yourRatings(page).count()).toBe(2);
    await expect.poll(() => recommendations(page).count()).toBeGreaterThan(0);
    await settled(page);
    await page.getByRole('searchbox').fill('toy');
    await page.getByText(/movies? match(es)? “toy”/).waitFor();
    await settled(page);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'discover-1280.png'), fullPage: true });
  });

  it('browses a data-set user: rated movies, recommendations, predicted vs actual', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Browse a user' }).click();
    await page.getByRole('heading', { level: 1, name: 'Browse a data-set user' }).waitFor();
    await page.getByRole('spinbutton', { name: 'User id' }).fill('1');
    await page.getByRole('button', { name: 'Show user' }).click();

    const rated = page.getByRole('region', { name: 'Rated movies: predicted vs actual' });
    await rated.getByRole('table').waitFor();
    const rows = rated.getByRole('row');
    await expect.poll(() => rows.count()).toBeGreaterThan(1); // header + at least one rated movie
    // Each row: the movie, the actual rating on the scale, the predicted rating with one decimal.
    const cells = await rows.nth(1).getByRole('cell').allInnerTexts();
    expect(cells[0]).toMatch(/^\d+(\.5)?$/);
    expect(cells[1]).toMatch(/^\d\.\d$/);
    await page.getByText('RMSE on their ratings').waitFor();

    const recs = page.getByRole('region', { name: 'Top recommendations for user 1' }).getByRole('listitem');
    await expect.poll(() => recs.count()).toBeGreaterThan(0);
    // Under each recommendation, the API's `because` as a sentence: "Because you rated A ★5, B ★4 and C ★4".
    await settled(page);
    const api = (await page.evaluate(async () =>
      (await fetch('/api/users/1/recommendations?limit=100')).json(),
    )) as RecommendationsResponse;
    const becauseById = new Map(api.items.map((item) => [item.itemId, item.because]));
    const shown = await recs.evaluateAll((items) =>
      items.map((li) => ({ itemId: Number((li as HTMLElement).dataset.itemId), line: li.querySelector('.because')?.textContent ?? null })),
    );
    // One line per part of the score the reasons raised (both first), a rating below 4★ named as not liked.
    const tags = { both: 'raises watch & like', like: 'raises like', watch: 'raises watch' } as const;
    for (const { itemId, line } of shown) {
      const because = becauseById.get(itemId) ?? [];
      const lines = (['both', 'like', 'watch'] as const)
        .map((raises) => because.filter((b) => b.raises === raises))
        .filter((group) => group.length > 0)
        .map((group, n) => {
          const parts = group.map((b) => `${displayTitle(b.title ?? '')}${b.liked ? ` ★${b.rating}` : ` (★${b.rating}, not liked)`}`);
          const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
          return `${n === 0 ? 'Because you' : 'You'} ${group[0].raises === 'watch' ? 'watched' : 'rated'} ${list} ${tags[group[0].raises]}`;
        });
      expect(line).toBe(lines.length === 0 ? null : lines.join(''));
    }
    expect(shown.filter((s) => s.line !== null).length).toBeGreaterThan(0);
    expect(page.url()).toMatch(/#\/user\/1$/);

    // An unknown user is a clear empty state, not an error page (the API's 404 is expected here).
    expectedFailures.push(/\/api\/users\/987654321\//);
    await page.getByRole('spinbutton', { name: 'User id' }).fill('987654321');
    await page.getByRole('button', { name: 'Show user' }).click();
    await page.getByText('No user 987654321 in the data set.').waitFor();

    await page.getByRole('spinbutton', { name: 'User id' }).fill('1');
    await page.getByRole('button', { name: 'Show user' }).click();
    await rated.getByRole('table').waitFor();
    await settled(page);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'user-1280.png'), fullPage: true });
  });

  it('shows the model: metrics, hyperparameters and the plotted training curve', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Model' }).click();
    await page.getByRole('heading', { level: 1, name: 'Model' }).waitFor();
    const curve = page.getByRole('region', { name: 'Training curve' });
    const chart = curve.getByRole('img', { name: /Training curve of the rating RBMs/ });
    await chart.waitFor();
    const paths = await chart.locator('path.chart-line').evaluateAll((els) => els.map((el) => el.getAttribute('d') ?? ''));
    expect(paths.length).toBeGreaterThanOrEqual(1);
    // At least one plotted line through several epochs: "M x y L x y L x y …".
    const mostPoints = Math.max(...paths.map((d) => (d.match(/[ML]\s*[\d.]+\s+[\d.]+/g) ?? []).length));
    expect(mostPoints).toBeGreaterThanOrEqual(2);
    expect(await chart.locator('text', { hasText: 'Epoch' }).count()).toBe(1);
    expect(await curve.getByText(/train/).count()).toBeGreaterThan(0);

    const params = page.getByRole('region', { name: 'Hyperparameters' });
    expect(await params.locator('dt').count()).toBeGreaterThan(0);
    await page.getByRole('region', { name: 'Evaluation' }).waitFor();
    await settled(page);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'model-1280.png'), fullPage: true });
  });

  it('works at phone width (390 px)', async () => {
    const phone = watch(await context.newPage());
    await phone.setViewportSize(PHONE);
    await phone.goto(server.url);
    // The same browser profile: the visitor's ratings and recommendations are there.
    await expect.poll(() => recommendations(phone).count()).toBeGreaterThan(0);
    await phone.getByRole('searchbox').fill('toy');
    await phone.getByText(/movies? match(es)? “toy”/).waitFor();
    await settled(phone);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: path.join(SCREENSHOT_DIR, 'discover-390.png'), fullPage: true });

    await phone.goto(`${server.url}/#/user/1`);
    await phone.getByRole('region', { name: 'Rated movies: predicted vs actual' }).getByRole('table').waitFor();
    await expectNoSidewaysScroll(phone, 'user-390.png', { fullPage: true });

    await phone.getByRole('link', { name: 'Model' }).click();
    await phone.getByRole('region', { name: 'Training curve' }).getByRole('img').first().waitFor();
    await expectNoSidewaysScroll(phone, 'model-390.png', { fullPage: true });
    await phone.close();
  });

  it('the browser console stayed free of errors and no request failed', () => {
    expect(problems).toEqual([]);
  });

  it('says so visibly when the server is unreachable, and recovers on "Try again"', async () => {
    // Not watched: the failures here are the point.
    const offline = await context.newPage();
    await offline.route('**/api/**', (route) => route.abort('connectionrefused'));
    await offline.goto(server.url);
    const alert = offline.getByRole('alert');
    await alert.getByText('Server unreachable').waitFor();
    expect(await alert.innerText()).toContain('could not be reached');
    await offline.screenshot({ path: path.join(SCREENSHOT_DIR, 'unreachable-1280.png') });

    await offline.unroute('**/api/**');
    await alert.getByRole('button', { name: 'Try again' }).click();
    await offline.getByRole('searchbox').waitFor();
    expect(await offline.getByRole('alert').count()).toBe(0);
    await offline.close();
  });
});
