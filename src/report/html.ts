/** Escaping for the HTML report: every text in it may come from a model, and answers are untrusted. */

/** Escapes text for HTML content and for double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * `value` as JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` become
 * `\u003c`, `\u003e` and `\u0026` (so no `</script>` or `<!--` in an answer can end the block),
 * and the line separators U+2028 and U+2029 are escaped too. `JSON.parse` of the block's text
 * gives `value` back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/** A number with `digits` decimals, or `–` when there is none. */
export function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
}

/** A fraction 0–1 as a percentage with one decimal, or `–`. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)} %`;
}
