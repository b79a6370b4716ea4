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

/** The text a spreadsheet will not execute. */
export function formulaSafe(text: string): string {
  if (text === '' || !FORMULA_START.test(text) || E164.test(text)) return text;
  return `'${text}`;
}

/** Undoes formulaSafe on import: `'=...` becomes `=...`. */
export function unescapeFormula(text: string): string {
  return text.length > 1 && text.charCodeAt(0) === 39 && FORMULA_START.test(text.slice(1))
    ? text.slice(1)
    : text;
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
