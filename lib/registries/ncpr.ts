/**
 * India's National Customer Preference Register (TRAI TCCCPR 2018). Senders cannot download the NCPR:
 * operators scrub commercial communications at send time. What a sender can do is record a contact's
 * preference (as the contact stated it, or as learnt from the operator) and respect it before sending, so
 * a message is not rejected by the operator (or worse, counted as a complaint).
 *
 * A preference is either 0, fully blocked (no commercial communication in any category), or the list of
 * categories the contact accepts; every category not listed is blocked:
 *   1 banking, insurance, financial products, credit cards   5 consumer goods and automobiles
 *   2 real estate                                             6 communication, broadcasting, entertainment, IT
 *   3 education                                               7 tourism and leisure
 *   4 health                                                  8 food and beverages
 * (modes and time bands also exist in the register; they are not modelled here.) A contact with no recorded
 * preference is not on the NCPR as far as the sender knows.
 */
import { DncError } from '../errors';

export type NcprCategory = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export const NCPR_CATEGORIES: Readonly<Record<NcprCategory, string>> = {
  1: 'banking, insurance, financial products, credit cards',
  2: 'real estate',
  3: 'education',
  4: 'health',
  5: 'consumer goods and automobiles',
  6: 'communication, broadcasting, entertainment, IT',
  7: 'tourism and leisure',
  8: 'food and beverages',
};

export type NcprPreference =
  | { readonly fullyBlocked: true }
  | {
      readonly fullyBlocked: false;
      /** Categories the contact accepts, ascending, without duplicates, never empty. */
      readonly acceptedCategories: readonly NcprCategory[];
    };

export type NcprReasonCode =
  /** Preference 0: no commercial communication at all. */
  | 'NCPR_FULLY_BLOCKED'
  /** The campaign's category is not among those the contact accepts. */
  | 'NCPR_CATEGORY_BLOCKED'
  /** The contact accepts the campaign's category. */
  | 'NCPR_CATEGORY_ACCEPTED'
  /** No preference recorded for the contact. */
  | 'NCPR_NO_PREFERENCE';

export interface NcprDecision {
  allowed: boolean;
  reason: NcprReasonCode;
  category: NcprCategory;
}

export function isNcprCategory(value: unknown): value is NcprCategory {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 8;
}

function invalid(message: string, field: string): DncError {
  return new DncError('DNC_INVALID_INPUT', message, { field });
}

/**
 * Reads a preference as people and systems write it: `0` / `"0"` (fully blocked), a list of categories
 * (`[1, 3]`, `"1,3"`, `"1 3"`), or an NcprPreference object. Throws DNC_INVALID_INPUT (field `ncpr`) for
 * anything else, including an empty list and 0 mixed with categories: "accepts nothing" must be written as
 * 0, so that a typo never reads as a valid preference.
 */
export function parseNcprPreference(input: unknown, field = 'ncpr'): NcprPreference {
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'fullyBlocked' in input) {
    const object = input as { fullyBlocked: unknown; acceptedCategories?: unknown };
    if (object.fullyBlocked === true) return { fullyBlocked: true };
    if (object.fullyBlocked !== false) throw invalid(`${field}.fullyBlocked must be true or false`, field);
    return parseNcprPreference(object.acceptedCategories ?? [], field);
  }
  let items: unknown[];
  if (typeof input === 'number') items = [input];
  else if (typeof input === 'string') {
    const text = input.trim();
    if (!/^\d+(\s*[,;\s]\s*\d+)*$/.test(text)) {
      throw invalid(`${field} must be 0 or categories 1-8 ("1,3"), got "${input}"`, field);
    }
    items = text.split(/[\s,;]+/).map(Number);
  } else if (Array.isArray(input)) items = input;
  else throw invalid(`${field} must be 0 or a list of categories 1-8`, field);

  if (items.length === 0)
    throw invalid(`${field}: an empty list of categories (use 0 for fully blocked)`, field);
  if (items.length === 1 && (items[0] === 0 || items[0] === '0')) return { fullyBlocked: true };
  const categories = new Set<NcprCategory>();
  for (const item of items) {
    const value = typeof item === 'string' && /^\d+$/.test(item.trim()) ? Number(item) : item;
    if (value === 0) throw invalid(`${field}: 0 (fully blocked) cannot be combined with categories`, field);
    if (!isNcprCategory(value)) throw invalid(`${field}: ${String(item)} is not a category 1-8`, field);
    categories.add(value);
  }
  return { fullyBlocked: false, acceptedCategories: [...categories].sort((a, b) => a - b) };
}

/** The preference as TRAI writes it: `0`, or the accepted categories `1,3,5`. */
export function formatNcprPreference(preference: NcprPreference): string {
  return preference.fullyBlocked ? '0' : preference.acceptedCategories.join(',');
}

/**
 * Whether a commercial communication of `campaignCategory` may go to a contact with this preference.
 * Throws DNC_INVALID_INPUT (field `category`) when the category is not 1-8: a campaign without a valid
 * category cannot be checked, and guessing would be the unsafe direction.
 */
export function decideNcpr(
  preference: NcprPreference | null | undefined,
  campaignCategory: unknown,
): NcprDecision {
  const category = typeof campaignCategory === 'string' ? Number(campaignCategory.trim()) : campaignCategory;
  if (!isNcprCategory(category)) {
    throw invalid(`category must be an NCPR category 1-8, got ${String(campaignCategory)}`, 'category');
  }
  if (!preference) return { allowed: true, reason: 'NCPR_NO_PREFERENCE', category };
  if (preference.fullyBlocked) return { allowed: false, reason: 'NCPR_FULLY_BLOCKED', category };
  return preference.acceptedCategories.includes(category)
    ? { allowed: true, reason: 'NCPR_CATEGORY_ACCEPTED', category }
    : { allowed: false, reason: 'NCPR_CATEGORY_BLOCKED', category };
}
