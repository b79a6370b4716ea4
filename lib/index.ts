/** The framework-free core of DNC Flow: usable without Node-RED (tests, scripts, other hosts). */
export { DncError, isDncError, type DncErrorCode } from './errors';
export {
  ContactParser,
  contactLabel,
  isValidE164,
  type ParsedContact,
  type ContactParserOptions,
} from './contacts';
export { LabelCatalog, KNOWN_CHANNELS, type LabelDefinition, type CompiledLabel } from './labels';
export {
  DncDecider,
  activeLabels,
  type Decision,
  type BatchDecision,
  type BatchSummary,
  type BlockedItem,
  type CheckOptions,
  type CheckPlan,
  type Reason,
  type ReasonCode,
  type ActiveLabel,
} from './decide';
export {
  DncService,
  type DncServiceOptions,
  type LabelChangeRequest,
  type LabelChangeOutcome,
  type AttemptRequest,
} from './service';
export * from './policy';
export { EmbeddedStore } from './store/embedded';
export { acquireEmbeddedStore } from './store/registry';
export type * from './store/types';
export * from './registries';
