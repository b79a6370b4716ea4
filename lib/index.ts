/** The framework-free core of DNC Flow: usable without Node-RED (tests, scripts, other hosts). */
export { DncError, isDncError, type DncErrorCode } from './errors';
export { ContactParser, contactLabel, type ParsedContact, type ContactParserOptions } from './contacts';
export { isValidE164 } from './phone/e164-validity';
export { LabelCatalog, KNOWN_CHANNELS, type LabelDefinition, type CompiledLabel } from './labels';
export { DncDecider, activeLabels } from './decide';
export type {
  Decision,
  BatchDecision,
  BatchSummary,
  BlockedItem,
  CheckOptions,
  CheckPlan,
  Reason,
  ReasonCode,
  ActiveLabel,
} from './decision';
export {
  DncService,
  type DncServiceOptions,
  type LabelChangeRequest,
  type LabelChangeOutcome,
} from './service';
export type { AttemptRequest } from './attempt-recorder';
export * from './policy';
export { EmbeddedStore } from './store/embedded';
export { acquireEmbeddedStore } from './store/registry';
export type * from './store/types';
export * from './registries';
