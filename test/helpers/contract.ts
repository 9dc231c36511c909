import { expect } from 'vitest';
import type { ChatMessage } from '../../src/providers/types.js';
import type { RecordedRequest } from '../../src/simulator/server.js';
import type { TurnRecord } from '../../src/store/records.js';
import type { Suite } from '../../src/suite/types.js';
import { hashMessages, systemPromptOf } from '../../src/conversation/context.js';

const conversationKey = (t: { model: string; sequence: string; run: number }): string =>
  `${t.model}/${t.sequence}/${t.run}`;

/**
 * Checks troupe's contract (context accumulates, is isolated, every turn exactly once) for a
 * finished job against what the simulator received: every turn recorded exactly once and
 * answered; every request carried exactly the system prompt and its own conversation's earlier
 * messages, in order; and nothing else reached the provider.
 *
 * The simulator's answers are unique (they carry a serial number), so the answer a
 * turn stored names the one request that produced it.
 */
export function expectContractHolds(
  suite: Suite,
  turns: readonly TurnRecord[],
  requests: readonly RecordedRequest[],
  /** Requests allowed beyond one per turn: those in flight when a process died or a write failed. */
  allowedExtraRequests = 0,
): void {
  // 3. Exactly once.
  const seen = new Set<string>();
  for (const turn of turns) {
    const key = `${conversationKey(turn)}/${turn.turn}`;
    expect(seen.has(key), `turn ${key} appears twice`).toBe(false);
    seen.add(key);
  }
  const expectedTurns =
    suite.models.length * suite.runs * suite.sequences.reduce((n, s) => n + s.prompts.length, 0);
  expect(turns.length).toBe(expectedTurns);
  expect(turns.filter((t) => t.status !== 'ok')).toEqual([]);

  // 1 and 2. Accumulation and isolation, request by request.
  const requestByAnswer = new Map<string, RecordedRequest>();
  for (const request of requests) {
    if (request.response === null) continue;
    expect(requestByAnswer.has(request.response), `two requests got the answer ${request.response}`).toBe(
      false,
    );
    requestByAnswer.set(request.response, request);
  }
  const byConversation = new Map<string, TurnRecord[]>();
  for (const turn of turns) {
    const list = byConversation.get(conversationKey(turn)) ?? [];
    list.push(turn);
    byConversation.set(conversationKey(turn), list);
  }
  for (const conversation of byConversation.values()) {
    conversation.sort((a, b) => a.turn - b.turn);
    const first = conversation[0];
    if (!first) continue;
    const model = suite.models.find((m) => m.id === first.model);
    const sequence = suite.sequences.find((s) => s.id === first.sequence);
    if (!model || !sequence) throw new Error(`unknown model or sequence in ${conversationKey(first)}`);
    const system = systemPromptOf(model, sequence);
    const history: ChatMessage[] = system === undefined ? [] : [{ role: 'system', content: system }];
    for (const turn of conversation) {
      const expected: ChatMessage[] = [
        ...history,
        { role: 'user', content: sequence.prompts[turn.turn - 1] ?? '' },
      ];
      const request = requestByAnswer.get(turn.response ?? '');
      expect(
        request,
        `no request produced the answer of ${conversationKey(turn)} turn ${turn.turn}`,
      ).toBeDefined();
      expect(request?.model).toBe(model.model);
      expect(request?.messages, `context of ${conversationKey(turn)} turn ${turn.turn}`).toEqual(expected);
      history.push({ role: 'user', content: expected[expected.length - 1]?.content ?? '' });
      history.push({ role: 'assistant', content: turn.response ?? '' });
    }
  }
  // Nothing reached the provider that is not a recorded turn (no duplicates, no strays),
  // except what the caller allows for requests in flight at a crash.
  const answered = requests.filter((r) => r.status === 200).length;
  expect(answered).toBeGreaterThanOrEqual(turns.length);
  expect(answered - turns.length).toBeLessThanOrEqual(allowedExtraRequests);
}

/**
 * Contract 3 across a crash: a turn committed before the crash is never requested
 * again; a turn that was not may be requested at most once more (it was in flight).
 * Requests are matched to turns by model and the hash of their messages, which is
 * what each turn record stores (runs of a sequence share their first request).
 */
export function expectNoCommittedTurnRepeated(
  suite: Suite,
  committedBeforeCrash: readonly TurnRecord[],
  allTurns: readonly TurnRecord[],
  requests: readonly RecordedRequest[],
): void {
  const modelName = new Map(suite.models.map((m) => [m.id, m.model]));
  const keyOf = (model: string, hash: string | null): string => `${model}|${hash ?? ''}`;
  const tally = (turns: readonly TurnRecord[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const turn of turns) {
      const key = keyOf(modelName.get(turn.model) ?? turn.model, turn.requestHash);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const total = tally(allTurns);
  const before = tally(committedBeforeCrash);
  const requested = new Map<string, number>();
  for (const request of requests) {
    const key = keyOf(request.model, hashMessages(request.messages));
    requested.set(key, (requested.get(key) ?? 0) + 1);
  }
  for (const [key, turns] of total) {
    const asked = requested.get(key) ?? 0;
    const uncommitted = turns - (before.get(key) ?? 0);
    expect(asked, `requests for ${key}`).toBeGreaterThanOrEqual(turns);
    expect(asked, `requests for ${key}: only turns in flight at the crash may repeat`).toBeLessThanOrEqual(
      turns + uncommitted,
    );
  }
}

/** One crash of a test: when it happened and what the store held right after. */
export interface Crash {
  readonly at: number;
  readonly committed: readonly TurnRecord[];
}

/**
 * Contract 3 across several crashes, checked against when the provider received
 * each request: after a crash, a turn already committed is never requested again;
 * an uncommitted one is requested at most once more per crash still to come.
 */
export function expectExactlyOnceAcrossCrashes(
  suite: Suite,
  crashes: readonly Crash[],
  allTurns: readonly TurnRecord[],
  requests: readonly RecordedRequest[],
): void {
  const modelName = new Map(suite.models.map((m) => [m.id, m.model]));
  const keyOfTurn = (turn: TurnRecord): string =>
    `${modelName.get(turn.model) ?? turn.model}|${turn.requestHash ?? ''}`;
  const keyOfRequest = (request: RecordedRequest): string =>
    `${request.model}|${hashMessages(request.messages)}`;
  const count = <T>(items: readonly T[], key: (item: T) => string): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return counts;
  };
  const total = count(allTurns, keyOfTurn);
  const requested = count(requests, keyOfRequest);
  for (const [key, turns] of total)
    expect(requested.get(key) ?? 0, `requests for ${key}`).toBeGreaterThanOrEqual(turns);
  crashes.forEach((crash, index) => {
    const committed = count(crash.committed, keyOfTurn);
    const after = count(
      requests.filter((r) => r.receivedAt > crash.at),
      keyOfRequest,
    );
    const laterCrashes = crashes.length - index - 1;
    for (const [key, turns] of total) {
      const open = turns - (committed.get(key) ?? 0);
      expect(after.get(key) ?? 0, `requests for ${key} after crash ${index + 1}`).toBeLessThanOrEqual(
        open * (1 + laterCrashes),
      );
    }
  });
}
