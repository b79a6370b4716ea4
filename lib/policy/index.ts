/** Calling-time policies: windows, holidays, frequency caps and cooling-off in the callee's local time. */
export {
  CallingPolicy,
  compilePolicy,
  type PolicyReason,
  type PolicyReasonCode,
  type PolicyVerdict,
  type PolicyContact,
  type PolicyScope,
  type AttemptSource,
} from './policy';
export { PRESETS, PRESET_NAMES, preset } from './presets';
export { PolicyStack, type CheckPolicy } from './stack';
export { createPolicy, isCheckPolicy } from './create';
export { UsStatesPolicy, placeCallee } from './us-states';
export type {
  PolicyDefinition,
  CapDefinition,
  CoolingOffDefinition,
  HolidayDefinition,
  CapScope,
  CoolingOffTrigger,
} from './model';
export { resolveZones, zoneSetOf, countryZones, type ZoneSet, type ZoneSource } from './zones';
