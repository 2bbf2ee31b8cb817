import { describe, expect, it } from 'vitest';
import { parseStoreTarget, redactUrl } from '../../src/store/index.js';
import { findPostgresBin, INSTALL_HINT } from '../helpers/postgresCluster.js';

describe('parseStoreTarget (what --db names)', () => {
  it('takes postgres:// and postgresql:// URLs for PostgreSQL, in any case', () => {
    expect(parseStoreTarget('postgres://u:p@db.example:5432/recs')).toEqual({
      engine: 'postgres',
      url: 'postgres://u:p@db.example:5432/recs',
    });
    expect(parseStoreTarget('PostgreSQL://db/recs').engine).toBe('postgres');
  });

  it('takes anything without a scheme for a SQLite file, Windows drive letters included', () => {
    expect(parseStoreTarget('data/recommender.db')).toEqual({ engine: 'sqlite', path: 'data/recommender.db' });
    expect(parseStoreTarget('C:\\data\\r.db')).toEqual({ engine: 'sqlite', path: 'C:\\data\\r.db' });
    expect(parseStoreTarget(':memory:').engine).toBe('sqlite');
  });

  it('refuses every other URL scheme, naming it and what is supported, without echoing a password', () => {
    expect(() => parseStoreTarget('mysql://root:hunter2@db/recs')).toThrow(
      '--db: "mysql://root:***@db/recs" is a mysql: URL, and only SQLite files (a path) and PostgreSQL',
    );
    expect(() => parseStoreTarget('http://example.com/x.db', 'DATABASE_URL')).toThrow(
      'DATABASE_URL: "http://example.com/x.db" is a http: URL',
    );
    expect(() => parseStoreTarget('postgres://')).toThrow('names no host');
    expect(() => parseStoreTarget('')).toThrow('--db is empty');
  });

  it('redacts passwords in URLs for messages', () => {
    expect(redactUrl('postgres://app:s3cr3t@10.0.0.5/recs')).toBe('postgres://app:***@10.0.0.5/recs');
    expect(redactUrl('postgres://app@10.0.0.5/recs')).toBe('postgres://app@10.0.0.5/recs');
  });
});

describe('the PostgreSQL binaries the tests need', () => {
  it("are looked for on PATH, then in Debian's /usr/lib/postgresql/<version>/bin", () => {
    expect(findPostgresBin()).toMatch(/bin$/);
  });

  it('make the PostgreSQL tests fail, saying how to install them, when they are nowhere', () => {
    expect(() => findPostgresBin('/nonexistent-a:/nonexistent-b', '/nonexistent-root')).toThrow(INSTALL_HINT);
    expect(INSTALL_HINT).toContain('apt-get install -y postgresql');
  });
});
