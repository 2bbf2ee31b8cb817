/**
 * What a `--db` value names, decided in one place for every command: a `postgres://` or `postgresql://`
 * URL is a PostgreSQL database (a server several machines share); anything else without a URL scheme is
 * a SQLite file path (the embedded default). Any other URL scheme (`mysql://`, `http://`, `file://`…) is
 * refused: taken for a path, it would silently create a folder named after the scheme.
 */

export type StoreTarget = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

/** A bad `--db` / DATABASE_URL value: the commands print it as a usage error. */
export class StoreTargetError extends Error {
  override readonly name = 'StoreTargetError';
}

const POSTGRES_SCHEME = /^postgres(ql)?:\/\//i;
/** A URL scheme (RFC 3986: a letter, then letters, digits, + - .) and `://`. */
const ANY_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function parseStoreTarget(value: string, where = '--db'): StoreTarget {
  if (POSTGRES_SCHEME.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new StoreTargetError(
        `${where}: "${redactUrl(value)}" is not a valid PostgreSQL URL: expected postgres://user:password@host:port/database`,
      );
    }
    if (url.hostname === '' && !url.searchParams.has('host')) {
      throw new StoreTargetError(`${where}: "${redactUrl(value)}" names no host: expected postgres://user:password@host:port/database`);
    }
    return { engine: 'postgres', url: value };
  }
  const scheme = ANY_SCHEME.exec(value);
  if (scheme) {
    throw new StoreTargetError(
      `${where}: "${redactUrl(value)}" is a ${scheme[1]}: URL, and only SQLite files (a path) and PostgreSQL ` +
        '(postgres://user:password@host:port/database or postgresql://…) are supported',
    );
  }
  if (value.trim() === '') throw new StoreTargetError(`${where} is empty: expected a SQLite file path or a postgres:// URL`);
  return { engine: 'sqlite', path: value };
}

/** The URL with its password replaced by ***, for messages and logs. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** How a target is named in messages: the path, or the URL without its password. */
export function describeTarget(target: StoreTarget): string {
  return target.engine === 'sqlite' ? target.path : redactUrl(target.url);
}
