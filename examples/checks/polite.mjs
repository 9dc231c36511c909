// A script check: called with the answer and { conversation, prompt }; returns true/false,
// a score from 0 to 1, or { pass, score, reason }.
export default function polite(answer) {
  const polite = /\b(please|thank you|thanks)\b/i.test(answer);
  return { pass: polite, reason: polite ? 'says please or thanks' : 'no please or thanks' };
}
