/** Reads a provider's wait hint from its response headers. */

const MS_PER_SECOND = 1000;
const NON_NEGATIVE_NUMBER = /^\d+(\.\d+)?$/;
const HAS_LETTER = /[a-z]/i;

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const exact = headers[name];
  if (exact !== undefined) return exact;
  const found = Object.keys(headers).find((key) => key.toLowerCase() === name);
  return found === undefined ? undefined : headers[found];
}

/**
 * The wait a response asks for, in ms: `retry-after-ms` (float ms) first, then
 * `retry-after` as seconds or as an HTTP date (a date in the past means 0).
 * Undefined when neither header is present or readable. Header names are matched
 * case-insensitively.
 */
export function parseRetryAfterMs(
  headers: Readonly<Record<string, string>>,
  nowMs: number,
): number | undefined {
  const ms = header(headers, 'retry-after-ms')?.trim();
  if (ms !== undefined && NON_NEGATIVE_NUMBER.test(ms)) return Number(ms);
  const value = header(headers, 'retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (NON_NEGATIVE_NUMBER.test(value)) return Number(value) * MS_PER_SECOND;
  // An HTTP date always names its day or month; without letters, Date.parse would read '-5' as a year.
  const date = HAS_LETTER.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
