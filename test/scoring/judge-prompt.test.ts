import { describe, expect, it } from 'vitest';
import { buildJudgeMessages, parseRating } from '../../src/scoring/judge-prompt.js';

describe('parseRating', () => {
  it.each([
    ['Rating: [[7]]', 7],
    ['The answer is fine.\nRating: [[10]]', 10],
    ['Rating: [[1]]', 1],
    ['Rating: [[8.0]]', 8],
    ['First [[3]], then on reflection Rating: [[6]]', 6],
    ['Rating: [[ 4 ]]', 4],
    ['Rating: [[10.0]]', 10],
    ['Rating: [[5]] — after a second look, Rating: [[9]].', 9],
    ['The answer says 3 and 12.\n\nRating: [[2]]', 2],
  ])('reads %j as %d', (text, rating) => {
    expect(parseRating(text)).toBe(rating);
  });

  it.each([
    'I would give it 8 out of 10.',
    'Rating: 8',
    'Rating: [8]',
    'Rating: [[0]]',
    'Rating: [[11]]',
    'Rating: [[7.5]]',
    'Rating: [[seven]]',
    'Rating: [[-3]]',
    'Rating: [[5/10]]',
    'Rating: [[1e1]]',
    'Rating: [[100]]',
    'Rating: [[N]]',
    'Rating: [[7]], though the scale reads [[1 to 10]]',
    'Rating: [[8]] [[11]]',
    '',
  ])('refuses %j (never guessed)', (text) => {
    expect(parseRating(text)).toBeUndefined();
  });
});

describe('buildJudgeMessages', () => {
  const conversation = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'What is 2+2?' },
    { role: 'assistant' as const, content: '4' },
    { role: 'user' as const, content: 'And times 3?' },
  ];

  it('shows the whole conversation and the answer to its last question, and asks for [[N]]', () => {
    const [system, user] = buildJudgeMessages({ conversation, answer: '12' });
    expect(system?.role).toBe('system');
    expect(user?.content).toContain('What is 2+2?');
    expect(user?.content).toContain('And times 3?');
    expect(user?.content).toContain('12');
    expect(user?.content).toContain('Rating: [[');
    expect(user?.content).not.toContain('Reference');
  });

  it('adds the reference answer and the rubric when given', () => {
    const [, user] = buildJudgeMessages({
      conversation,
      answer: '12',
      reference: 'Twelve.',
      rubric: 'Be strict.',
    });
    expect(user?.content).toContain('[The Start of Reference Answer]\nTwelve.');
    expect(user?.content).toContain('Be strict.');
  });

  it('asks for an impartial grade of the last answer on the MT-Bench criteria, ending with the rating format', () => {
    const [system, user] = buildJudgeMessages({ conversation, answer: '12' });
    expect(system?.content).toMatch(/impartial judge/);
    for (const criterion of [
      'helpfulness',
      'relevance',
      'accuracy',
      'depth',
      'creativity',
      'level of detail',
    ]) {
      expect(user?.content).toContain(criterion);
    }
    expect(user?.content).toMatch(/only the assistant’s answer to the last user question/);
    expect(user?.content).toMatch(/scale of 1 to 10/);
    // The conversation comes in order, the graded answer last, after the last question.
    const text = user?.content ?? '';
    const order = ['What is 2+2?', '### Assistant:\n4', 'And times 3?', '(the answer to grade):\n12'].map(
      (part) => text.indexOf(part),
    );
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > (order[i - 1] ?? 0)))).toBe(true);
  });

  it('shows the assistant’s system prompt apart from the conversation', () => {
    const [, user] = buildJudgeMessages({ conversation, answer: '12' });
    expect(user?.content).toContain(
      "[The Start of the Assistant's System Prompt]\nBe brief.\n[The End of the Assistant's System Prompt]",
    );
    const [, withoutSystem] = buildJudgeMessages({ conversation: conversation.slice(1), answer: '12' });
    expect(withoutSystem?.content).not.toContain('System Prompt');
  });
});
