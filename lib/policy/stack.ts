/**
 * Several calling policies on one check (federal rules and a state's, a company's own hours on top of
 * a regulator's): the contact is allowed only when every policy allows. The reasons are every blocking
 * policy's reasons; `nextAllowedAt` is the earliest instant at which all of them allow at once, found by
 * search, which is not the latest of their separate answers (federal 08:00-21:00 and a state's Sunday
 * ban on a Saturday night: each alone answers a time the other refuses).
 *
 * The search moves one instant forward: each policy names its first allowed instant from there
 * (CallingPolicy.firstAllowedAt), the latest of those is the next candidate, until all of them name
 * the candidate itself. Every step moves to a window start or a cap's clearing of some policy, so it
 * ends within the policies' horizon.
 */
import type { ZoneHints } from '../contacts';
import { isoTime } from '../time';
import { HORIZON_DAYS } from './calendar';
import {
  CallingPolicy,
  type AttemptSource,
  type PolicyReason,
  type PolicyScope,
  type PolicyVerdict,
} from './policy';
import { DAY_MS } from './zone-clock';
import { resolveZones, type ZoneSet } from './zones';

/** The cache key of "no zone found". */
const NO_ZONES = Symbol('no zones');
const MAX_CACHED_SETS = 50_000;

/** What a check needs of its policy: one CallingPolicy, or a stack of them. */
export interface CheckPolicy {
  readonly name: string;
  /** How far back attempt records can matter (the longest cap window or cooling-off period). */
  readonly horizonMs: number;
  readonly needsAttempts: boolean;
  /** The channels the policy governs (normalised), or null for every channel. */
  readonly channels: readonly string[] | null;
  /** The policies checked, in order (one for a single policy). */
  readonly members: readonly CallingPolicy[];
  evaluateFor(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null;
  firstAllowedAt(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null;
  /**
   * Whether attempts matter to a contact known only by this number (no state, zone or region given):
   * a policy whose rules differ per callee (us-states: only Florida's have a cap) answers per number;
   * absent: needsAttempts. A batch counts its allowed items only where they can matter.
   */
  needsAttemptsForNumber?(phone: string): boolean;
}

/** A search that has not settled after this many steps gives up (null: no instant found). */
const MAX_STEPS = 10_000;

export class PolicyStack implements CheckPolicy {
  readonly name: string;
  readonly horizonMs: number;
  readonly needsAttempts: boolean;
  readonly channels: readonly string[] | null;

  readonly members: readonly CallingPolicy[];

  constructor(private readonly parts: readonly CheckPolicy[]) {
    if (parts.length === 0) throw new Error('a policy stack needs at least one policy');
    this.name = parts.map((policy) => policy.name).join(' + ');
    this.horizonMs = Math.max(...parts.map((policy) => policy.horizonMs));
    this.needsAttempts = parts.some((policy) => policy.needsAttempts);
    this.members = [...new Set(parts.flatMap((policy) => policy.members))];
    const channels = new Set<string>();
    let every = false;
    for (const policy of parts) {
      if (policy.channels === null) every = true;
      else for (const channel of policy.channels) channels.add(channel);
    }
    this.channels = every ? null : [...channels];
    this.leaves = parts.every((part) => part instanceof CallingPolicy) ? parts : null;
  }

  evaluateFor(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
  ): PolicyVerdict | null {
    if (this.leaves === null) return this.combine(hints, phone, keys, scope, at, attempts, null);
    // Every part reads the callee's zones the same way: resolve them once for all.
    const set = resolveZones(hints, phone);
    // Caps and cooling-off make a verdict the contact's own only when the contact has attempt records;
    // without any, it is the zone set's like every other (a batch is mostly such contacts).
    if (this.needsAttempts && (attempts === undefined || this.hasRecords(keys, at, attempts)))
      return this.combine(hints, phone, keys, scope, at, attempts, set);
    // No attempt records in play: the verdict depends on the zone set and the instant, and a batch
    // asks for one instant: keep the verdicts of that instant (and channel) per zone set.
    if (at !== this.cachedAt || scope.channel !== this.cachedChannel) {
      // A one-off instant (a label's expiry, asked between a batch's contacts) is computed without
      // dropping the batch's verdicts; an instant asked twice in a row starts a new batch's cache.
      if (at !== this.missedAt || scope.channel !== this.missedChannel) {
        this.missedAt = at;
        this.missedChannel = scope.channel;
        return this.combine(hints, phone, keys, scope, at, attempts, set);
      }
      this.cache.clear();
      this.cachedAt = at;
      this.cachedChannel = scope.channel;
    }
    const key = set ?? NO_ZONES;
    let cached = this.cache.get(key);
    if (cached === undefined) {
      cached = { verdict: this.combine(hints, phone, keys, scope, at, attempts, set) };
      if (this.cache.size >= MAX_CACHED_SETS) this.cache.clear();
      this.cache.set(key, cached);
    }
    return cached.verdict;
  }

  private hasRecords(keys: readonly string[], at: number, attempts: AttemptSource): boolean {
    const since = at - this.horizonMs;
    for (const key of keys) if (attempts(key, since).length > 0) return true;
    return false;
  }

  /** The parts when every one is a CallingPolicy (zones resolved once), else null. */
  private readonly leaves: readonly CallingPolicy[] | null;
  private readonly cache = new Map<ZoneSet | typeof NO_ZONES, { verdict: PolicyVerdict | null }>();
  private cachedAt = NaN;
  private cachedChannel: string | null = null;
  private missedAt = NaN;
  private missedChannel: string | null = null;

  private combine(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    at: number,
    attempts: AttemptSource | undefined,
    set: ZoneSet | null | undefined,
  ): PolicyVerdict | null {
    let reasons: PolicyReason[] | null = null;
    let zones: readonly string[] | null = null;
    let never = false;
    for (let i = 0; i < this.parts.length; i++) {
      const verdict =
        this.leaves !== null && set !== undefined
          ? this.leaves[i].evaluateInZones(set, keys, scope, at, attempts)
          : this.parts[i].evaluateFor(hints, phone, keys, scope, at, attempts);
      if (verdict === null) continue;
      reasons ??= [];
      for (const reason of verdict.reasons) {
        // The same rule checked twice (a state's rules in the address's zones and the number's, the
        // same zone) says the same thing once.
        if (
          !reasons.some(
            (r) => r.code === reason.code && r.rule === reason.rule && r.message === reason.message,
          )
        )
          reasons.push(reason);
      }
      zones ??= verdict.zones;
      if (verdict.nextAllowedAt === null) never = true;
    }
    if (reasons === null) return null;
    const next = never ? null : this.search(hints, phone, keys, scope, at, attempts, set);
    // Each reason keeps its own nextAllowedAt (when that rule stops blocking); the verdict's says when
    // they all do. Frozen: a verdict may be shared by every contact of a batch in the same zones.
    return Object.freeze({
      reasons: Object.freeze(reasons),
      nextAllowedAt: next,
      nextAllowedText: next === null ? null : isoTime(next),
      zones,
    });
  }

  firstAllowedAt(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
  ): number | null {
    return this.search(
      hints,
      phone,
      keys,
      scope,
      t,
      attempts,
      this.leaves === null ? undefined : resolveZones(hints, phone),
    );
  }

  private search(
    hints: ZoneHints | undefined,
    phone: string | undefined,
    keys: readonly string[],
    scope: PolicyScope,
    t: number,
    attempts: AttemptSource | undefined,
    set: ZoneSet | null | undefined,
  ): number | null {
    const limit = t + (HORIZON_DAYS + 1) * DAY_MS;
    let candidate = t;
    for (let step = 0; step < MAX_STEPS; step++) {
      let moved = false;
      for (let i = 0; i < this.parts.length; i++) {
        const next =
          this.leaves !== null && set !== undefined
            ? this.leaves[i].firstAllowedInZones(set, keys, scope, candidate, attempts)
            : this.parts[i].firstAllowedAt(hints, phone, keys, scope, candidate, attempts);
        if (next === null) return null;
        if (next > candidate) {
          candidate = next;
          moved = true;
        }
      }
      if (!moved) return candidate;
      if (candidate > limit) return null;
    }
    return null;
  }
}
