/** The SQLite store: open the database, then read and write the catalog and the model versions. */
export {
  openDatabase,
  DEFAULT_BUSY_TIMEOUT_MS,
  SERVER_BUSY_TIMEOUT_MS,
  SERVER_WRITE_LOCK_WAIT_MS,
  type Database,
  type OpenOptions,
} from './database.js';
export { isDatabaseBusy, retryWhileBusy, type BusyRetryOptions } from './busy.js';
export { TokenStore, TOKEN_PREFIX, type CreatedToken, type TokenInfo } from './tokenStore.js';
export { ChangeFeed } from './changeFeed.js';
export { CatalogStore, type DatasetInfo, type StoredRating, type StoredUser } from './catalogStore.js';
export type {
  CatalogImport,
  ImportMode,
  ImportOptions,
  ImportSummary,
  ReplacedCatalog,
  RatingRowSink,
  StreamedCatalogImport,
} from './catalogImport.js';
export { ModelStore, type ModelVersion, type ModelVersionInfo, type SaveOptions } from './modelStore.js';
export {
  CatalogChangedError,
  CatalogReplaceRefusedError,
  InvalidRatingError,
  UnknownItemError,
  UnknownModelVersionError,
} from './errors.js';
export { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion } from './migrations.js';
export type {
  CatalogCounts,
  CatalogRepository,
  ModelRepository,
  RateLimitCounter,
  RatingsByUser,
  Store,
  StoreChange,
  StoreWatch,
  TokenRepository,
} from './store.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { SqliteStore, openSqliteStore } from './sqliteStore.js';
export { PostgresStore, openPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
export { parseStoreTarget, describeTarget, redactUrl, StoreTargetError, type StoreTarget } from './target.js';
export { isDatabaseUnavailable } from './busy.js';
