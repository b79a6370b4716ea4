/**
 * CSV output that is safe to open in a spreadsheet. A cell beginning with `=`, `+`, `-`, `@`, a tab or a
 * carriage return would be read as a formula by Excel, LibreOffice or Google Sheets (CSV injection), so
 * it is prefixed with a single quote (OWASP's advice). One exception: an E.164 phone number (`+` and
 * digits only) cannot carry a formula, and quoting every number of a DNC export would make it useless to
 * the dialler it is meant for. The import removes the quote again, so an export re-imports unchanged.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const E164 = /^\+[1-9]\d{1,14}$/;
const NEEDS_QUOTES = /[",\r\n]/;

const QUOTE = 39; // '

/**
 * The text a spreadsheet will not execute. A text that itself starts with a quote followed by a formula
 * character or another quote gets one more quote, so that unescapeFormula gives it back exactly
 * (`'=x` stored is exported `''=x`, and imports as `'=x`, not `=x`).
 */
export function formulaSafe(text: string): string {
  if (text === '' || E164.test(text)) return text;
  if (FORMULA_START.test(text) || isEscaped(text)) return `'${text}`;
  return text;
}

function isEscaped(text: string): boolean {
  return (
    text.length > 1 &&
    text.charCodeAt(0) === QUOTE &&
    (FORMULA_START.test(text.slice(1)) || text.charCodeAt(1) === QUOTE)
  );
}

/** Undoes formulaSafe on import: `'=...` becomes `=...`, `''=...` becomes `'=...`. */
export function unescapeFormula(text: string): string {
  return isEscaped(text) ? text.slice(1) : text;
}

/** One RFC 4180 cell, formula-safe. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = formulaSafe(String(value));
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    line += csvCell(values[i]);
  }
  return `${line}\r\n`;
}
