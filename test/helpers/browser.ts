/**
 * What the browser tests share: Debian's Chromium as playwright-core drives it, the viewports, where
 * screenshots go, and a watch on a page that collects every console error, uncaught exception, failed
 * request and HTTP error answer (the tests assert the list stays empty).
 */
import path from 'node:path';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];
export const SCREENSHOT_DIR = path.resolve('test-results/screenshots');
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Records the page's problems into `problems`, except those at URLs `expected` says a step provokes. */
export function watchPage(page: Page, problems: string[], expected: (url: string) => boolean = () => false): Page {
  page.on('console', (message) => {
    // Chromium also logs every failed resource load as a console error, located at the resource's URL.
    if (message.type() === 'error' && !expected(message.location().url)) {
      problems.push(`console error on ${page.url()}: ${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception on ${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && !expected(response.url())) {
      problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  return page;
}
