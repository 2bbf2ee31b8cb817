/**
 * Where the browser tests find things on the page: the discover view's lists, one locator per row, and
 * the wait for the page to catch up with the last action.
 */
import path from 'node:path';
import { expect } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { SCREENSHOT_DIR } from './browser.js';

export const searchResults = (p: Page): Locator => p.getByRole('list', { name: 'Search results' }).getByRole('listitem');
export const recommendations = (p: Page): Locator => p.getByRole('region', { name: 'Recommendations' }).getByRole('listitem');
export const yourRatings = (p: Page): Locator => p.getByRole('region', { name: /Your ratings/ }).getByRole('listitem');

/** No request in flight and no view busy: the page has caught up with the last action. */
export async function settled(p: Page): Promise<void> {
  await p.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0);
}

/** Once the page has settled: it does not scroll sideways, and a screenshot of it goes to `file`. */
export async function expectNoSidewaysScroll(p: Page, file: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await settled(p);
  expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await p.screenshot({ path: path.join(SCREENSHOT_DIR, file), ...options });
}
