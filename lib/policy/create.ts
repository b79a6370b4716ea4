/**
 * Builds the policy a definition describes: a CallingPolicy, a jurisdiction policy (us-states), or a
 * RegionalPolicy (holidays kept by the callee's region, `holidays.regions`).
 */
import { CallingPolicy } from './policy';
import { RegionalPolicy, hasRegionalHolidays } from './regional';
import type { PolicyDefinition } from './model';
import type { CheckPolicy } from './stack';
import { UsStatesPolicy, namesJurisdiction } from './us-states';

/** Throws DncError DNC_INVALID_INPUT when the definition is not valid. */
export function createPolicy(definition: PolicyDefinition): CheckPolicy {
  if (namesJurisdiction(definition)) return new UsStatesPolicy(definition);
  return hasRegionalHolidays(definition) ? new RegionalPolicy(definition) : new CallingPolicy(definition);
}

/** A compiled policy (one or a stack, as decide.ts and the nodes pass them around). */
export function isCheckPolicy(value: unknown): value is CheckPolicy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CheckPolicy).evaluateFor === 'function' &&
    typeof (value as CheckPolicy).firstAllowedAt === 'function'
  );
}
