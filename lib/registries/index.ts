/** National Do-Not-Call registries from files: compact index, parsers, loading and freshness, India NCPR. */
export { NumberIndex, type NumberIndexParts, type DirectoryKind } from './number-index';
export { NumberIndexBuilder, buildIndex, type BuildYield } from './index-build';
export { mergeIndex } from './index-merge';
export { e164ToKey, keyToE164 } from './number-keys';
export {
  writeIndexFile,
  readIndexFile,
  readIndexFileHeader,
  IndexFileError,
  INDEX_FORMAT_VERSION,
  type IndexFileHeader,
  type SourceFingerprint,
} from './index-file';
export {
  LineScanner,
  parseLineFile,
  parseLineStream,
  parseCsvFile,
  parseCsvStream,
  dateFromFileName,
  type RegistryLayout,
  type LayoutOptions,
  type KeySink,
  type ParseReport,
  type MalformedLine,
  type ParseProgress,
  type ParseOptions,
} from './parsers';
export { readZipDirectory, readZipEntry, ZipFormatError, type ZipEntry } from './zip';
export {
  FileRegistry,
  type RegistryLoadOutcome,
  type FileRegistryOptions,
  type RegistryState,
  type RegistryStatus,
} from './registry';
export {
  KNOWN_REGISTRIES,
  DEFAULT_MAX_AGE_DAYS,
  DEFAULT_LAYOUTS,
  DEFAULT_CALLING_CODES,
  REGISTRY_RULES,
  registryMaxAgeDays,
  isKnownRegistry,
  type KnownRegistryId,
  type RegistryId,
} from './known-registries';
export type {
  RegistryResult,
  RegistryReasonCode,
  RegistryLookupResult,
  SourceLookupResult,
  SourceReasonCode,
} from './lookup-result';
export { listRegistrySources, parseAsOf, RegistryLoadRefusedError, type AsOfSource } from './source-files';
export type { RegistryLoadProgress } from './registry-loader';
export {
  NCPR_CATEGORIES,
  parseNcprPreference,
  formatNcprPreference,
  decideNcpr,
  isNcprCategory,
  type NcprCategory,
  type NcprPreference,
  type NcprDecision,
  type NcprReasonCode,
} from './ncpr';
export { ServiceRegistrySource, type ServiceSourceStatus } from './service-source';
export type {
  ServiceSourceOptions,
  ServiceRequestEvent,
  ResponseMapper,
  ResponseMapping,
  NumberFormat,
} from './service-options';
export { parseRetryAfter } from './service-calls';
export type { CircuitState } from './circuit-breaker';
export {
  isNcprLabel,
  ncprLabelsFor,
  ncprFromLabels,
  NCPR_LABEL_PATTERN,
  type RegistrySource,
  type SyncRegistrySource,
  type AsyncRegistrySource,
  type RegistryFailurePolicy,
  type RegistryPlan,
  type ContactRegistryResult,
} from './check';
