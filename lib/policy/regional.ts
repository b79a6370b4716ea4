/**
 * A policy whose holidays depend on the callee's region (`holidays.regions`): the country's holidays
 * bind every callee, a region's bind the callees who may be in it (holiday-regions.ts places them).
 * Each distinct set of regions gets its own CallingPolicy (a definition with only those regions), so
 * the windows, caps and cooling-off are the definition's own and their caches keep working; there are
 * few such sets (a state, an area code's states, every region, none).
 *
 * The definition alone (a CallingPolicy built from it) binds every region's holidays: the fail-closed
 * reading for a callee who cannot be placed, and what the policy is checked with when it is compiled.
 */
import type { ZoneHints } from '../contacts';
import type { HolidayDefinition, PolicyDefinition } from './model';
import { placeInRegions, regionCode } from './holiday-regions';
import { CallingPolicy, type AttemptSource, type PolicyScope, type PolicyVerdict } from './policy';
import type { CheckPolicy } from './stack';

/** Whether a definition has holidays kept by regions (and so needs the callee placed). */
export function hasRegionalHolidays(definition: unknown): boolean {
  if (typeof definition !== 'object' || definition === null) return false;
  const holidays = (definition as PolicyDefinition).holidays;
  return (
    typeof holidays === 'object' &&
    holidays !== null &&
    holidays.regions !== undefined &&
    holidays.regions !== null
  );
}

export class RegionalPolicy implements CheckPolicy {
  readonly definition: PolicyDefinition;
  readonly name: string;
  readonly horizonMs: number;
  readonly needsAttempts: boolean;
  readonly channels: readonly string[] | null;
  readonly members: readonly CallingPolicy[];
  /** The country whose regions are placed. */
  private readonly country: string;
  /** Region code (`AU-QLD`) to the definition's own key for it (`au-qld`). */
  private readonly keys = new Map<string, string[]>();
  private readonly every: CallingPolicy;
  private readonly bySet = new Map<string, CallingPolicy>();

  /** Throws DNC_INVALID_INPUT for a definition it cannot apply. */
  constructor(definition: PolicyDefinition) {
    // Validates everything, regions included, and is the policy for a callee who cannot be placed.
    this.every = new CallingPolicy(definition);
    this.definition = definition;
    const holidays = definition.holidays as HolidayDefinition;
    this.country = String(holidays.country).trim().toUpperCase();
    for (const key of Object.keys(holidays.regions ?? {})) {
      const code = regionCode(key)!;
      const list = this.keys.get(code) ?? [];
      list.push(key);
      this.keys.set(code, list);
    }
    this.name = this.every.name;
    this.horizonMs = this.every.horizonMs;
    this.needsAttempts = this.every.needsAttempts;
    this.channels = this.every.channels;
    this.members = [this.every];
  }

  /** The policy for a callee who may be in these subdivisions of the country ('any': every region). */
  private policyFor(hints: ZoneHints | undefined, phone: string | undefined): CallingPolicy {
    const placed = placeInRegions(this.country, hints, phone);
    if (placed === 'any') return this.every;
    // The definition's regions the callee may be in (few: a country's states or departments listed).
    const codes: string[] = [];
    for (const code of this.keys.keys()) if (placed.includes(code.slice(3))) codes.push(code);
    const key = codes.join(',');
    let policy = this.bySet.get(key);
    if (policy === undefined) {
      const holidays = this.definition.holidays as HolidayDefinition;
      const regions: Record<string, unknown> = {};
      for (const code of codes) for (const own of this.keys.get(code)!) regions[own] = holidays.regions![own];
      policy = new CallingPolicy({
        ...this.definition,
        holidays: { ...holidays, regions: regions as HolidayDefinition['regions'] },
      });
      this.bySet.set(key, policy);
    }
    return policy;
  }

  evaluateFor(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    return this.policyFor(hints, phone).evaluateFor(hints, phone, keys, scope, at, attempts);
  }

  firstAllowedAt(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null {
    return this.policyFor(hints, phone).firstAllowedAt(hints, phone, keys, scope, t, attempts);
  }
}
