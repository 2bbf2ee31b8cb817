/**
 * How every router matches paths: strictly and case-sensitively, because the app has already rewritten
 * the path to its one canonical spelling (canonicalPath.ts). A lenient router would answer spellings
 * that the guards, which compare canonical strings, do not recognise.
 */
import { Router } from 'express';

export const ROUTING = { strict: true, caseSensitive: true } as const;

/** A Router that matches as the app does (see ROUTING). */
export const strictRouter = (): Router => Router(ROUTING);
