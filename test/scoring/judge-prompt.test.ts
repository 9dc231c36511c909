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
});
