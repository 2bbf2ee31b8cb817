/**
 * What the browser tests share: Debian's Chromium as playwright-core drives it, the viewports, where
 * screenshots go, and a watch on a page that collects every console error, uncaught exception, failed
 * request and HTTP error answer (the tests assert the list stays empty).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.js';
import type { FitOptions } from '../../src/model/index.js';
import { launch, type LaunchedServer } from '../../src/server/main.js';

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

/** A real server over a fresh database (demo catalog, a small quick model) and Chromium on a fresh profile. */
export interface BrowserSession {
  workDir: string;
  server: LaunchedServer;
  context: BrowserContext;
  /** The first page, watched. */
  page: Page;
  close(): Promise<void>;
}

/**
 * `prepare` may fill the database before the server starts (e.g. import MovieLens 100K); without it the
 * server seeds the demo catalog.
 */
export async function openBrowserSession(
  prefix: string,
  watch: (page: Page) => Page,
  prepare?: (dbPath: string) => Promise<void>,
  trainOptions: FitOptions = { epochs: 8 },
): Promise<BrowserSession> {
  await buildWeb();
  const workDir = mkdtempSync(path.join(tmpdir(), prefix));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const dbPath = path.join(workDir, 'e2e.db');
  await prepare?.(dbPath);
  // A small, quick model: the page is under test here, not the model's accuracy.
  const server = await launch({
    dbPath,
    port: 0,
    log: () => {},
    trainOptions,
    pollMs: 60_000,
  });
  // A persistent context over a fresh profile folder: no state from any earlier run or other browser.
  const context = await chromium.launchPersistentContext(path.join(workDir, 'profile'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: DESKTOP,
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(20_000);
  const page = watch(context.pages()[0] ?? (await context.newPage()));
  return {
    workDir,
    server,
    context,
    page,
    close: async () => {
      await context.close();
      await server.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
