import { expect } from 'vitest';
import type { ChatMessage } from '../../src/providers/types.js';
import type { RecordedRequest } from '../../src/simulator/server.js';
import type { TurnRecord } from '../../src/store/records.js';
import type { Suite } from '../../src/suite/types.js';
import { systemPromptOf } from '../../src/conversation/context.js';

const conversationKey = (t: { model: string; sequence: string; run: number }): string =>
  `${t.model}/${t.sequence}/${t.run}`;

/**
 * Checks DESIGN.md's contract 1–3 for a finished job against what the simulator
 * received: every turn recorded exactly once and answered; every request carried
 * exactly the system prompt and its own conversation's earlier messages, in
 * order; and nothing else reached the provider.
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
