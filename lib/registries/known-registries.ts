/**
 * The national registries DNC Flow knows: their ids, file layouts, calling codes and the freshness rule each
 * one's regulator sets (COMPLIANCE.md), and the id rule every registry (known or custom) follows.
 */
import type { LayoutOptions } from './parsers';

export type KnownRegistryId = 'US_NDNC' | 'CA_DNCL' | 'UK_TPS' | 'UK_CTPS' | 'AU_DNCR' | 'SG_DNC';
/** A known registry, or a custom one (any other id). */
export type RegistryId = KnownRegistryId | (string & {});

export const KNOWN_REGISTRIES: readonly KnownRegistryId[] = [
  'US_NDNC',
  'CA_DNCL',
  'UK_TPS',
  'UK_CTPS',
  'AU_DNCR',
  'SG_DNC',
];

/**
 * Days the data may be old before lookups fail as stale, per registry's rule (COMPLIANCE.md): US and Canada
 * 31 (data no more than 31 days old when calling), UK 28 (screen at least every 28 days), Australia 30 (a wash
 * is a defence for 30 days), Singapore 21 (results valid 21 days).
 */
export const DEFAULT_MAX_AGE_DAYS: Readonly<Record<KnownRegistryId, number>> = {
  US_NDNC: 31,
  CA_DNCL: 31,
  UK_TPS: 28,
  UK_CTPS: 28,
  AU_DNCR: 30,
  SG_DNC: 21,
};

/** File layout each known registry is delivered in (overridable). AU and SG files are wash/check results. */
export const DEFAULT_LAYOUTS: Readonly<Record<KnownRegistryId, LayoutOptions>> = {
  US_NDNC: { layout: 'nanp' },
  CA_DNCL: { layout: 'nanp' },
  UK_TPS: { layout: 'uk-fixed' },
  UK_CTPS: { layout: 'uk-fixed' },
  // National numbers are read with libphonenumber-js's national-prefix rules for the calling code.
  AU_DNCR: { layout: 'lines', callingCode: '61' },
  SG_DNC: { layout: 'lines', callingCode: '65' },
};

/** Calling codes whose numbers each known registry can list; numbers outside are simply not on it. */
export const DEFAULT_CALLING_CODES: Readonly<Record<KnownRegistryId, readonly string[]>> = {
  US_NDNC: ['1'],
  CA_DNCL: ['1'],
  UK_TPS: ['44'],
  UK_CTPS: ['44'],
  AU_DNCR: ['61'],
  SG_DNC: ['65'],
};

/** Each known registry's freshness rule, as COMPLIANCE.md states it (named in the errors that enforce it). */
export const REGISTRY_RULES: Readonly<Record<KnownRegistryId, string>> = {
  US_NDNC: 'FTC (US National DNC Registry): data no more than 31 days old when calling',
  CA_DNCL: 'CRTC (Canada National DNCL): data no more than 31 days old',
  UK_TPS: 'TPS: screen at least every 28 days',
  UK_CTPS: 'CTPS: screen at least every 28 days',
  AU_DNCR: 'ACMA (Australia Do Not Call Register): a wash is a defence for 30 days',
  SG_DNC: 'Singapore DNC Registry: results valid 21 days',
};

/** A registry id, known or custom: a letter, then letters, digits, `_` and `-` (64 at most). */
export const REGISTRY_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Throws a RangeError for an id that is not a registry id (REGISTRY_ID_PATTERN). */
export function checkRegistryId(id: string): void {
  if (!REGISTRY_ID_PATTERN.test(id)) {
    throw new RangeError(`registry id must be letters, digits, _ and - (starting with a letter): ${id}`);
  }
}

export function isKnownRegistry(id: string): id is KnownRegistryId {
  return (KNOWN_REGISTRIES as readonly string[]).includes(id);
}

/**
 * The validity (days) a registry's data or results may be used for: the given value, else the known
 * registry's rule. A known registry may not be given more than its rule allows (RangeError naming the rule);
 * custom registries must give a positive value.
 */
export function registryMaxAgeDays(id: string, maxAgeDays: number | undefined): number {
  const known = isKnownRegistry(id) ? id : null;
  const days = maxAgeDays ?? (known ? DEFAULT_MAX_AGE_DAYS[known] : undefined);
  if (days === undefined || !(days > 0) || !Number.isFinite(days)) {
    throw new RangeError(`registry ${id}: maxAgeDays must be a positive number of days`);
  }
  if (known && days > DEFAULT_MAX_AGE_DAYS[known]) {
    throw new RangeError(
      `registry ${id}: valid for ${days} days is more than the rule allows (${DEFAULT_MAX_AGE_DAYS[known]} days; ${REGISTRY_RULES[known]})`,
    );
  }
  return days;
}
