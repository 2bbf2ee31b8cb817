/** The SQLite store: open the database, then read and write the catalog and the model versions. */
export { openDatabase, type Database } from './database.js';
export { CatalogStore, type DatasetInfo, type StoredRating, type StoredUser } from './catalogStore.js';
export type { CatalogImport, ImportOptions, ImportSummary, RatingRowSink, StreamedCatalogImport } from './catalogImport.js';
export { ModelStore, type ModelVersion, type ModelVersionInfo } from './modelStore.js';
export { InvalidRatingError, UnknownItemError, UnknownModelVersionError } from './errors.js';
export { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, schemaVersion } from './migrations.js';
