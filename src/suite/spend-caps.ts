/**
 * Why a spend cap cannot be: apart from the suite reader, so that `--max-cost` (and the daemon,
 * which applies it) does not load the reader and its schema library.
 */
import type { ModelConfig } from './types.js';

/**
 * Why a spend cap over the `covered` models cannot be: `models[1] (haiku) has no
 * pricePerMillionTokens`; undefined when every one has prices.
 */
export function unpricedProblem(
  models: readonly ModelConfig[],
  covered: (model: ModelConfig) => boolean,
): string | undefined {
  const missing = models.flatMap((model, index) =>
    covered(model) && model.pricePerMillionTokens === undefined ? [`models[${index}] (${model.id})`] : [],
  );
  if (missing.length === 0) return undefined;
  return (
    `a spend cap needs the prices of every model it covers; ${missing.join(', ')} ` +
    `${missing.length === 1 ? 'has' : 'have'} no pricePerMillionTokens`
  );
}
