import type { SequenceSource } from '../../src/actors/slice-walk.js';
import type { SequenceConfig } from '../../src/suite/types.js';

/**
 * `sequences` served as the store serves a job's sequence records: in id order, a page of at
 * most `limit` after a given id. Counts the pages read, to show how much a walk holds.
 */
export function sequenceSourceOf(
  sequences: readonly SequenceConfig[],
): SequenceSource & { pagesRead: number } {
  const byId = [...sequences].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const source = (after: string | undefined, limit: number): readonly SequenceConfig[] => {
    source.pagesRead += 1;
    const from = after === undefined ? 0 : byId.findIndex((s) => s.id > after);
    return from < 0 ? [] : byId.slice(from, from + limit);
  };
  source.pagesRead = 0;
  return source;
}
