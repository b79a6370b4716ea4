/**
 * The fields every request to the service names alike, read one way for label changes and attempts:
 * who acts (the principal, set by the package), the source a caller claims, the channel it names.
 */
import { normaliseChannel } from './labels';
import { HINTS, RULES, assertValue } from './values';

/**
 * Who acts, set by the package from how the caller reached it, never from a request's fields (a client
 * claims `source` and `actor`; it cannot claim a principal): `user:<name>` or `admin:anonymous` (admin API),
 * `token:<id>` (public API), `node:<id>` (a flow), `import:<principal>` (an import job). A program using
 * lib/ directly and naming none is `system`.
 */
export type Principal = string;

/** The principal of a change or attempt whose caller names none. */
export const SYSTEM_PRINCIPAL: Principal = 'system';

/** The source a request claims, or `fallback` when it names none (absent, null or empty). */
export function sourceOf(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  assertValue(RULES.source, value, 'source', HINTS.source);
  return value === null || value === '' ? fallback : (value as string);
}

/** The channel a request names, normalised (well-formed, not necessarily declared), or null. */
export function channelOf(value: unknown): string | null {
  if (value === undefined) return null;
  assertValue(RULES.channel, value, 'channel', HINTS.channel);
  return value === null || value === '' ? null : normaliseChannel(value, 'channel');
}

/** At most 200 characters (a long admin user name is cut, not refused: the change must not fail for it). */
export function principalText(principal: Principal): string {
  if (typeof principal !== 'string' || principal.trim() === '') return SYSTEM_PRINCIPAL;
  // Control characters never reach the audit trail (a user name is shown in logs and CSV exports).
  const clean = principal.replace(/\p{Cc}/gu, '?');
  return [...clean].slice(0, 200).join('');
}
