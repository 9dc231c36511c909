/**
 * The one sanitiser of text troupe prints on a terminal: answers, and every name that comes from
 * a suite, a store or a provider (suite, model, sequence and job names, error messages).
 */

// C0 and C1 controls (an LLM's answer, or a suite's name, may carry terminal escape sequences:
// a window title, colours, a cursor move) and the bidirectional overrides that would reorder the
// rest of a terminal line.
const UNSAFE_FOR_TERMINAL = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;

// The same characters but the line break, which JSON.stringify writes only between values (in a
// string it is escaped already).
const UNSAFE_IN_JSON = /[^\P{Cc}\n]|[\u202a-\u202e\u2066-\u2069]/gu;

/** `text` with every control character and bidirectional override replaced by U+FFFD. */
export function sanitizeForTerminal(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, '\ufffd');
}

/** Like `sanitizeForTerminal`, but keeps the line breaks of a multi-line message. */
export function sanitizeLines(text: string): string {
  return text.split('\n').map(sanitizeForTerminal).join('\n');
}

/**
 * `value` as JSON (indented by `indent` spaces) whose every control character and bidirectional
 * override is written as a `\uXXXX` escape: JSON.stringify escapes only C0 controls, and a C1
 * control (U+009B starts a terminal command) or an override would reach the terminal raw. The
 * escapes make the same JSON value, so nothing of the data is lost.
 */
export function jsonForTerminal(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    UNSAFE_IN_JSON,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
