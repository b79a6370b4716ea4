/**
 * The `us-states` policy: federal rules (47 CFR 64.1200(c)(1), 16 CFR 310.4(c)) plus the confirmed rules
 * of the callee's state or territory (us-state-rules.ts, docs/us-state-rules.md), decided per contact.
 *
 * The callee's state comes from the contact (`state`/`region` such as `FL` or `US-FL`, or a US ZIP code)
 * and from the number's area code (nanp-area-codes.ts, NANPA's NPA database). When both are known and
 * differ, both states' rules bind (Florida, Oklahoma and Connecticut presume that an area code of theirs
 * means a resident), and the windows are checked in the zones of the address and of the number alike.
 * Whatever cannot rule a state out binds every state's rules (fail closed): a non-geographic or unknown
 * area code with no state given, or a state given that is not one (`Flordia`). A number outside the US
 * (Canada and the Caribbean share +1) with no US state given has only the federal rules.
 *
 * Which rules: by default those binding every telephone solicitation and those binding licensed or
 * registered sellers (the stricter reading for a telemarketer); `calls` adds the rules for automated
 * (prerecorded, autodialed) calls or for securities solicitors, which a live sales call does not follow.
 */
import type { ZoneHints } from '../contacts';
import { DncError } from '../errors';
import { CallingPolicy, type AttemptSource, type PolicyScope, type PolicyVerdict } from './policy';
import type { PolicyDefinition } from './model';
import { regionsOfPostalCode, zonesOfRegion } from './regions';
import { PolicyStack, type CheckPolicy } from './stack';
import { NON_US_AREA_CODES, stateOfAreaCode } from './nanp-area-codes';
import { normaliseUsState } from '../registries/number-state';
import { US_STATE_RULES, toPolicyDefinition, type StateRule } from './us-state-rules';

export const JURISDICTION_US_STATES = 'us-states';
export type CallKind = StateRule['binds'];
const CALL_KINDS: readonly CallKind[] = ['solicitation', 'licensed', 'automated', 'securities'];
const DEFAULT_CALLS: readonly CallKind[] = ['solicitation', 'licensed'];
const KEYS = ['name', 'preset', 'rule', 'jurisdiction', 'calls', 'channels'] as const;

const FEDERAL: PolicyDefinition = {
  name: 'US federal (TCPA / TSR)',
  channels: ['voice', 'sms'],
  rule: '47 CFR 64.1200(c)(1) (TCPA) and 16 CFR 310.4(c) (TSR): no calls before 8 a.m. or after 9 p.m. local time',
  windows: { daily: ['08:00-21:00'] },
};

function invalid(message: string, field: string): DncError {
  return new DncError('DNC_INVALID_INPUT', `policy: ${message}`, { field: `policy.${field}` });
}

/** Whether a definition names a jurisdiction (and so is not a plain CallingPolicy definition). */
export function namesJurisdiction(definition: unknown): boolean {
  return (
    typeof definition === 'object' &&
    definition !== null &&
    (definition as Record<string, unknown>).jurisdiction !== undefined
  );
}

/** Where the callee may be: US states whose rules bind, or every state (nothing rules one out). */
interface Placement {
  readonly states: readonly string[];
  readonly every: boolean;
  /** The state given with the contact differs from the number's: check the number's zones too. */
  readonly numberAlso: boolean;
}

/** The US state a region text names (`FL`, `us-fl`, `Florida`), null when it names none, undefined when absent. */
function stateOfRegion(region: string | undefined): string | null | undefined {
  if (region === undefined) return undefined;
  return normaliseUsState(region) ?? null;
}

/** The area code of a +1 number, or null for another calling code. */
function areaCodeOf(phone: string | undefined): string | null {
  if (phone === undefined || !/^\+1\d{10}$/.test(phone)) return null;
  return phone.slice(2, 5);
}

export function placeCallee(hints: ZoneHints | undefined, phone: string | undefined): Placement {
  const given = new Set<string>();
  let unresolved = false;
  const country = hints?.country;
  const region = stateOfRegion(hints?.region);
  // A region that names no US state and no region anywhere else (`Flordia`) rules nothing out; a
  // Canadian province or Australian state is simply not a US state.
  if (
    region === null &&
    (country === undefined || country === 'US') &&
    zonesOfRegion(hints!.region!, null) === null
  )
    unresolved = true;
  else if (typeof region === 'string' && (country === undefined || country === 'US')) given.add(region);
  if (hints?.postalCode !== undefined && (country === undefined || country === 'US')) {
    const regions = regionsOfPostalCode(hints.postalCode, 'US');
    if (regions === null) {
      if (/^\d{5}(-\d{4})?$/.test(hints.postalCode.trim())) unresolved = true;
    } else for (const [, state] of regions) given.add(state);
  }
  const npa = areaCodeOf(phone);
  const numberState = npa === null ? null : stateOfAreaCode(npa);
  // +1 but no US state for the area code: Canada or the Caribbean (no US rule unless a US state is
  // given), or a non-geographic or unknown code (could be anywhere).
  const nonUsNanp = npa !== null && numberState === null && isNonUsNanp(npa);
  const numberUnplaced = npa !== null && numberState === null && !nonUsNanp;
  if (unresolved) return { states: [], every: true, numberAlso: false };
  if (given.size > 0) {
    const states = new Set(given);
    if (numberState !== null) states.add(numberState);
    return {
      states: [...states].sort(),
      every: false,
      numberAlso: numberState !== null && !given.has(numberState),
    };
  }
  if (country !== undefined && country !== 'US') return { states: [], every: false, numberAlso: false };
  if (numberState !== null) return { states: [numberState], every: false, numberAlso: false };
  if (numberUnplaced) return { states: [], every: true, numberAlso: false };
  return { states: [], every: false, numberAlso: false };
}

function isNonUsNanp(npa: string): boolean {
  return Object.prototype.hasOwnProperty.call(NON_US_AREA_CODES, npa);
}

/** Evaluates a policy with the number's zones only (the state given with the contact set aside). */
class NumberZones implements CheckPolicy {
  readonly name: string;
  readonly horizonMs: number;
  readonly needsAttempts: boolean;
  readonly channels: readonly string[] | null;
  readonly members: readonly CallingPolicy[];
  constructor(private readonly inner: CheckPolicy) {
    this.name = inner.name;
    this.horizonMs = inner.horizonMs;
    this.needsAttempts = inner.needsAttempts;
    this.channels = inner.channels;
    this.members = inner.members;
  }
  evaluateFor(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    return this.inner.evaluateFor(undefined, phone, keys, scope, at, attempts);
  }
  firstAllowedAt(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null {
    return this.inner.firstAllowedAt(undefined, phone, keys, scope, t, attempts);
  }
}

export class UsStatesPolicy implements CheckPolicy {
  readonly definition: PolicyDefinition;
  readonly name: string;
  readonly horizonMs: number;
  readonly needsAttempts: boolean;
  readonly channels: readonly string[] | null;
  readonly members: readonly CallingPolicy[];
  /** The state rules included (`calls`). */
  readonly calls: readonly CallKind[];
  private readonly federal: CallingPolicy;
  private readonly byState = new Map<string, CallingPolicy[]>();
  private readonly stacks = new Map<string, CheckPolicy>();

  /** Throws DNC_INVALID_INPUT for a definition it cannot apply (never ignores a key it does not know). */
  constructor(definition: PolicyDefinition, now: number = Date.now()) {
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition))
      throw invalid('must be an object (a policy definition)', 'jurisdiction');
    const def = definition as Record<string, unknown>;
    for (const key of Object.keys(def)) {
      if (!(KEYS as readonly string[]).includes(key)) {
        throw invalid(
          `unknown key "${key}" for a policy with a jurisdiction (allowed: ${KEYS.join(', ')}); for hours of your own, add a second policy to the check`,
          key,
        );
      }
    }
    if (def.jurisdiction !== JURISDICTION_US_STATES)
      throw invalid(`jurisdiction must be "${JURISDICTION_US_STATES}"`, 'jurisdiction');
    if (def.channels !== undefined)
      throw invalid(
        'channels are set per rule (each state rule names the channels its text covers)',
        'channels',
      );
    let calls = DEFAULT_CALLS;
    if (def.calls !== undefined) {
      if (!Array.isArray(def.calls) || def.calls.length === 0)
        throw invalid(`calls must be a list of ${CALL_KINDS.join(', ')}`, 'calls');
      for (const [i, kind] of def.calls.entries()) {
        if (!CALL_KINDS.includes(kind as CallKind))
          throw invalid(
            `calls[${i}] "${String(kind)}" is not one of ${CALL_KINDS.join(', ')}`,
            `calls[${i}]`,
          );
      }
      calls = [...new Set(def.calls as CallKind[])];
    }
    this.definition = definition;
    this.calls = calls;
    this.name =
      typeof def.name === 'string' && def.name.trim() !== ''
        ? def.name.trim()
        : "US states: federal + the callee's state";
    this.federal = new CallingPolicy({
      ...FEDERAL,
      ...(typeof def.rule === 'string' && def.rule.trim() !== '' ? { rule: def.rule.trim() } : {}),
    });
    // Holiday dates for the years a check can reach: this year and the next (a year ahead at most),
    // the one before (a contact in a zone still on 31 December), and one more for nextAllowedAt.
    const year = new Date(now).getUTCFullYear();
    const years = [year - 1, year, year + 1, year + 2];
    for (const rule of US_STATE_RULES) {
      if (!calls.includes(rule.binds)) continue;
      const list = this.byState.get(rule.code) ?? [];
      list.push(new CallingPolicy(toPolicyDefinition(rule, years)));
      this.byState.set(rule.code, list);
    }
    const all = [this.federal, ...[...this.byState.values()].flat()];
    this.members = all;
    this.horizonMs = Math.max(...all.map((policy) => policy.horizonMs));
    this.needsAttempts = all.some((policy) => policy.needsAttempts);
    this.channels =
      this.federal.channels === null ? null : [...new Set(all.flatMap((p) => p.channels ?? []))];
  }

  /** The states whose rules the policy holds (for the editor and docs). */
  get states(): readonly string[] {
    return [...this.byState.keys()].sort();
  }

  /** The policies that bind a callee placed so (cached: there are few distinct placements). */
  private stackFor(placement: Placement): CheckPolicy {
    const key = `${placement.every ? '*' : placement.states.join(',')}${placement.numberAlso ? '+n' : ''}`;
    let stack = this.stacks.get(key);
    if (stack === undefined) {
      const states = placement.every ? [...this.byState.keys()] : placement.states;
      const members: CheckPolicy[] = [this.federal];
      for (const state of states) members.push(...(this.byState.get(state) ?? []));
      stack = members.length === 1 ? this.federal : new PolicyStack(members);
      // The number's zones bind as well as the address's: the same rules, checked in both.
      if (placement.numberAlso) stack = new PolicyStack([stack, new NumberZones(stack)]);
      this.stacks.set(key, stack);
    }
    return stack;
  }

  /** The stack that binds a callee: per area code for a bare number (the common case, no allocation). */
  private stackOf(hints: ZoneHints | undefined, phone: string | undefined): CheckPolicy {
    if (hints === undefined && phone !== undefined && phone.length === 12 && phone.startsWith('+1')) {
      const npa = phone.slice(2, 5);
      let stack = this.byAreaCode.get(npa);
      if (stack === undefined) {
        stack = this.stackFor(placeCallee(undefined, phone));
        this.byAreaCode.set(npa, stack);
      }
      return stack;
    }
    return this.stackFor(placeCallee(hints, phone));
  }

  private readonly byAreaCode = new Map<string, CheckPolicy>();

  needsAttemptsForNumber(phone: string): boolean {
    return this.stackOf(undefined, phone).needsAttempts;
  }

  evaluateFor(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    return this.stackOf(hints, phone).evaluateFor(hints, phone, keys, scope, at, attempts);
  }

  firstAllowedAt(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null {
    return this.stackOf(hints, phone).firstAllowedAt(hints, phone, keys, scope, t, attempts);
  }
}
