/**
 * Reads troupe's own turn records for where the time went inside troupe: from a turn's answer
 * (its `finishedAt`) to the start of the conversation's next turn (its `startedAt`) lie the
 * commit of the answer to the store and the actor hops that start the next turn.
 */
import type { TurnRecord } from '../../src/store/records.js';
import { quantile } from './sim-records.js';

/** For every turn after the first of its conversation: next `startedAt` − previous `finishedAt`, in ms. */
export function commitGaps(turns: readonly TurnRecord[]): number[] {
  const byConversation = new Map<string, TurnRecord[]>();
  for (const turn of turns) {
    const key = `${turn.model}\u0000${turn.sequence}\u0000${turn.run}`;
    const list = byConversation.get(key) ?? [];
    list.push(turn);
    byConversation.set(key, list);
  }
  const gaps: number[] = [];
  for (const list of byConversation.values()) {
    list.sort((a, b) => a.turn - b.turn);
    for (let i = 1; i < list.length; i += 1) {
      const previous = list[i - 1] as TurnRecord;
      const current = list[i] as TurnRecord;
      gaps.push(Date.parse(current.startedAt) - Date.parse(previous.finishedAt));
    }
  }
  return gaps;
}

/** The commit-and-hop gaps as report details. */
export function commitGapDetails(turns: readonly TurnRecord[]): Record<string, number> {
  const gaps = commitGaps(turns);
  if (gaps.length === 0) return {};
  return {
    'answer→next turn p50 ms': quantile(gaps, 0.5),
    'answer→next turn p95 ms': quantile(gaps, 0.95),
  };
}
