/**
 * CSV downloads of the dashboard's panels, made for Excel as Chinese operators use it: UTF-8 with a
 * byte-order mark (without it Excel reads UTF-8 as the local ANSI code page and Chinese turns into
 * mojibake), CRLF line ends, RFC 4180 quoting. Cells that are text starting with = + - @ (or a tab
 * or carriage return) get a leading apostrophe: nicknames, remarks and tag names are chosen by
 * users, and a spreadsheet would otherwise run `=HYPERLINK(...)` as a formula (CSV injection).
 * Numbers are written as numbers: a negative net growth is not a formula.
 */
export type CsvCell = string | number | boolean | null | undefined;

const BOM = '\uFEFF';
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The whole file: BOM, a header line of `columns`, one line per row (cells in column order). */
export function toCsv(columns: readonly string[], rows: readonly Record<string, CsvCell>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return `${BOM}${lines.join('\r\n')}\r\n`;
}
