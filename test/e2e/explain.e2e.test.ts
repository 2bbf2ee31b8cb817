/**
 * End-to-end: the Model view's "Hidden units" panel and the "How it works" view in real headless Chromium
 * against the real server (`launch`, demo catalog, a small model), at 1280 px and 390 px. What the page
 * shows is checked against the API's own answers; the browser must log no error and no request may fail;
 * everything is reached from the keyboard; headings never skip a level. Screenshots go to
 * test-results/screenshots/ (hidden-units-*.png, how-it-works-*.png).
 */
import path from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HiddenUnitsResponse, ModelExplainResponse, UnitActivationsResponse } from '../../src/api/types.js';
import type { LaunchedServer } from '../../src/server/main.js';
import { equations, SECTIONS } from '../../web/src/how-it-works/content.js';
import { PHONE, SCREENSHOT_DIR, openBrowserSession, watchPage, type BrowserSession } from '../helpers/browser.js';
import { settled } from '../helpers/pageParts.js';

const problems: string[] = [];
const watch = (page: Page): Page => watchPage(page, problems);

let server: LaunchedServer;
let context: BrowserContext;
let page: Page;

async function api<T>(p: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${server.url}${p}`, init);
  expect(res.status, `${p} answered ${res.status}`).toBe(200);
  return (await res.json()) as T;
}

let session: BrowserSession | undefined;

beforeAll(async () => {
  session = await openBrowserSession('rbm-e2e-explain-', watch);
  ({ server, context, page } = session);
});

afterAll(async () => {
  await session?.close();
});

/** Levels of the headings in the visible view, in document order (the site header has none). */
async function headingLevels(p: Page): Promise<number[]> {
  return p.evaluate(() =>
    [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .map((el) => Number(el.tagName.slice(1))),
  );
}

function expectHeadingsInOrder(levels: number[]): void {
  expect(levels[0]).toBe(1);
  expect(levels.filter((l) => l === 1)).toHaveLength(1);
  for (let n = 1; n < levels.length; n++)
    expect(levels[n] - levels[n - 1], `heading ${n} jumps from h${levels[n - 1]} to h${levels[n]}`).toBeLessThanOrEqual(1);
}

/** A number as the page writes it (en-US, fixed decimals). */
const fixed = (x: number, digits: number): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** How far the page is wider than the window (0 when it fits), checked with the elements that stick out. */
async function expectNoHorizontalOverflow(p: Page): Promise<void> {
  const { overflow, culprits } = await p.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    culprits: [...document.querySelectorAll('body *')]
      .filter((el) => (el as HTMLElement).offsetParent !== null && el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} (right ${Math.round(el.getBoundingClientRect().right)})`),
  }));
  expect(overflow, `wider than the window: ${culprits.join(', ')}`).toBeLessThanOrEqual(0);
}

/** Titles as the page shows them: the list's text minus the Δ and the year. */
const listTitles = (p: Page, direction: 'on' | 'off'): Promise<string[]> =>
  p.locator(`.unit-list-${direction} .unit-movie`).evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.itemId ?? ''));

describe('hidden units and How it works in Chromium', () => {
  it('the hidden-unit panel shows each unit’s movies as the API lists them, and the visitor’s units', async () => {
    await page.goto(server.url);
    // The visitor rates one movie, kept in the browser.
    await page.getByRole('searchbox', { name: 'Search movies by title' }).fill('toy');
    const first = page.getByRole('list', { name: 'Search results' }).getByRole('listitem').first();
    await first.getByRole('button', { name: /Rate 5 stars/ }).click();
    await settled(page);

    const units = await api<HiddenUnitsResponse>('/api/model/hidden');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Model' }).click();
    const panel = page.getByRole('region', { name: 'Hidden units' });
    const select = panel.getByRole('combobox', { name: 'Hidden unit' });
    await select.waitFor();
    expect(await select.locator('option').count()).toBe(units.hidden);
    await panel.getByText(`${units.hidden} hidden units`).waitFor();

    // The preselected unit is the strongest; its lists are the API's, in order.
    const strongest = units.units.reduce((a, b) => (b.strength > a.strength ? b : a));
    expect(await select.inputValue()).toBe(String(strongest.unit));
    expect(await listTitles(page, 'on')).toEqual(strongest.on.map((m) => String(m.itemId)));
    expect(await listTitles(page, 'off')).toEqual(strongest.off.map((m) => String(m.itemId)));
    await panel.getByRole('heading', { level: 3, name: `Switch unit ${strongest.unit + 1} on` }).waitFor();

    // Another unit, chosen from the keyboard.
    await select.focus();
    await page.keyboard.press(strongest.unit === 0 ? 'ArrowDown' : 'ArrowUp');
    const other = units.units.find((u) => String(u.unit) === (strongest.unit === 0 ? '1' : String(strongest.unit - 1)));
    expect(other).toBeDefined();
    await expect.poll(() => listTitles(page, 'on')).toEqual(other!.on.map((m) => String(m.itemId)));

    // The units the visitor's rating switches on most, as the API computes them for the same rating.
    const stored = await page.evaluate(() => Object.values(localStorage).join(''));
    const rated = (JSON.parse(stored) as { itemId: number; rating: number }[]).map(({ itemId, rating }) => ({ itemId, rating }));
    const visitor = await api<UnitActivationsResponse>('/api/model/hidden/activations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ratings: rated, limit: 5 }),
    });
    const chips = panel.getByRole('list', { name: /The units your 1 rating switch on most/ }).getByRole('button');
    await expect.poll(() => chips.count()).toBe(visitor.units.length);
    expect(await chips.evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.unit))).toEqual(
      visitor.units.map((u) => String(u.unit)),
    );
    await chips.first().click();
    expect(await chips.first().getAttribute('aria-pressed')).toBe('true');
    expect(await select.inputValue()).toBe(String(visitor.units[0].unit));

    // A data-set user's units, entered from the keyboard.
    const user1 = await api<UnitActivationsResponse>('/api/model/hidden/activations?user=1&limit=5');
    await panel.getByRole('spinbutton', { name: /a data-set user id/ }).fill('1');
    await page.keyboard.press('Enter');
    const userChips = panel.getByRole('list', { name: /user 1’s \d+ ratings/ }).getByRole('button');
    await expect.poll(() => userChips.count()).toBe(user1.units.length);
    expect(await userChips.evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.unit))).toEqual(
      user1.units.map((u) => String(u.unit)),
    );
    await settled(page);
    expectHeadingsInOrder(await headingLevels(page));
    await panel.screenshot({ path: path.join(SCREENSHOT_DIR, 'hidden-units-1280.png') });
  });

  it('How it works is reached from the header by keyboard, with MathML equations and the served model’s numbers', async () => {
    const explain = await api<ModelExplainResponse>('/api/model/explain');
    await page.goto(server.url);
    await page.getByRole('heading', { level: 1, name: 'Rate & discover' }).waitFor();
    const link = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'How it works' });
    let reached = false;
    for (let presses = 0; presses < 10 && !reached; presses++) {
      await page.keyboard.press('Tab');
      reached = await link.evaluate((el) => el === document.activeElement);
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    const heading = page.getByRole('heading', { level: 1, name: 'How it works' });
    await heading.waitFor();
    expect(await heading.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await link.getAttribute('aria-current')).toBe('page');
    await settled(page);

    for (const section of SECTIONS) await page.getByRole('region', { name: section.title }).waitFor();
    // Every equation is MathML, laid out by the browser (not raw LaTeX): a <math> element with a size.
    const maths = page.locator('.view-how math');
    expect(await maths.count()).toBe(equations().length);
    const sizes = await maths.evaluateAll((els) => els.map((el) => el.getBoundingClientRect().height));
    expect(sizes.every((hgt) => hgt > 0)).toBe(true);
    expect(await page.locator('.view-how').innerText()).not.toMatch(/\\(sum|frac|mathbf)/);

    // The served model's own numbers.
    const sample = explain.sample!;
    expect(sample).not.toBeNull();
    const figure = (name: string): ReturnType<Page['getByRole']> =>
      page.getByRole('region', { name }).getByRole('complementary', { name: 'This model' });
    const arch = await figure('One small network per user, one set of weights').innerText();
    expect(arch).toContain(`Hidden units F (user RBM)\n${explain.userRbm!.hidden}`);
    expect(arch).toContain(`Rating levels K\n${explain.levels}`);
    const energy = await figure('The energy of a user’s ratings').innerText();
    expect(energy).toContain(`Data-set user ${sample.userId}`);
    expect(energy).toContain(fixed(sample.freeEnergy, 2));
    const hidden = await figure('From ratings to hidden units: p(h | V)').innerText();
    for (const u of sample.topUnits) expect(hidden).toContain(`Unit ${u.unit + 1}\np(h = 1 | V) = ${fixed(u.probability, 3)}`);
    const masking = await figure('Missing ratings are absent, not zero').innerText();
    expect(masking).toContain(`Movies masked for them (no unit)\n${(explain.items - sample.ratingsUsed).toLocaleString('en-US')}`);
    const prediction = figure('From hidden units to ratings: p(vᵢ = k | h)');
    expect(await prediction.innerText()).toContain(`Served model: expected ${fixed(sample.served.expected, 2)} ★`);
    expect(await prediction.getByRole('img', { name: /Predicted rating distribution/ }).count()).toBe(2);
    const training = await figure('Learning: the model’s expectation, and contrastive divergence').innerText();
    expect(training).toContain('T = 1 from epoch 1');
    expect(training).toMatch(/Epochs run\n.*user RBM \d+/);
    const foldIn = await figure('A new user without retraining').innerText();
    expect(foldIn).toContain(`Ratings folded in (sample user)\n${sample.ratingsUsed}`);
    expect(await figure('Ranking: would watch, and would like').innerText()).toContain(`${Math.round(sample.pLiked * 100)}%`);

    // The table of contents is a list of in-page links, reachable from the keyboard.
    const toc = page.getByRole('navigation', { name: 'Sections' }).getByRole('link');
    expect(await toc.count()).toBe(SECTIONS.length);
    expectHeadingsInOrder(await headingLevels(page));
    await expectNoHorizontalOverflow(page);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'how-it-works-1280.png'), fullPage: true });
  });

  it('both render at phone width (390 px) without horizontal scrolling', async () => {
    const phone = watch(await context.newPage());
    await phone.setViewportSize(PHONE);
    await phone.goto(`${server.url}/#/how-it-works`);
    await phone.getByRole('heading', { level: 1, name: 'How it works' }).waitFor();
    await settled(phone);
    await phone.getByText(/Hidden units F \(user RBM\)/).waitFor();
    // Equations wider than the phone scroll inside their box, which can then be focused to scroll it.
    const boxes = await phone
      .locator('.math-display')
      .evaluateAll((els) =>
        els.map((el) => ({ overflows: el.scrollWidth > el.clientWidth + 1, focusable: el.getAttribute('tabindex') === '0' })),
      );
    expect(boxes.some((b) => b.overflows)).toBe(true);
    for (const box of boxes) expect(box.focusable).toBe(box.overflows);
    await expectNoHorizontalOverflow(phone);
    expectHeadingsInOrder(await headingLevels(phone));
    await phone.screenshot({ path: path.join(SCREENSHOT_DIR, 'how-it-works-390.png'), fullPage: true });

    await phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Model', exact: true }).click();
    const panel = phone.getByRole('region', { name: 'Hidden units' });
    await panel.getByRole('combobox', { name: 'Hidden unit' }).waitFor();
    await settled(phone);
    expect(await phone.locator('.unit-list-on .unit-movie').count()).toBeGreaterThan(0);
    await expectNoHorizontalOverflow(phone);
    expectHeadingsInOrder(await headingLevels(phone));
    await panel.screenshot({ path: path.join(SCREENSHOT_DIR, 'hidden-units-390.png') });
    await phone.close();
  });

  it('the browser console stayed free of errors and no request failed', () => {
    expect(problems).toEqual([]);
  });
});
