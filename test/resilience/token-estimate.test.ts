import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/providers/types.js';
import {
  CHARS_PER_TOKEN,
  MESSAGE_OVERHEAD_TOKENS,
  REPLY_PRIMING_TOKENS,
} from '../../src/resilience/defaults.js';
import {
  actualTokens,
  estimateInputTokens,
  estimateRequestTokens,
  reconciliationTokens,
} from '../../src/resilience/token-estimate.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('token estimate', () => {
  it('charges the reply priming for an empty conversation', () => {
    expect(estimateInputTokens([])).toBe(REPLY_PRIMING_TOKENS);
  });

  it('rounds each message up and adds its overhead', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      user('x'.repeat(CHARS_PER_TOKEN * 10)),
      { role: 'assistant', content: '' },
    ] as const;
    expect(estimateInputTokens(messages)).toBe(
      REPLY_PRIMING_TOKENS + 3 * MESSAGE_OVERHEAD_TOKENS + 3 + 10 + 0,
    );
  });

  it('counts UTF-8 bytes, so that non-Latin text is not badly under-reserved', () => {
    // 8 CJK characters are 24 UTF-8 bytes.
    expect(estimateInputTokens([user('日本語のテキスト')])).toBe(
      REPLY_PRIMING_TOKENS + MESSAGE_OVERHEAD_TOKENS + 6,
    );
  });

  it('reserves the whole answer on top of the input', () => {
    const messages = [user('Hello there')];
    expect(estimateRequestTokens(messages, 1024)).toBe(estimateInputTokens(messages) + 1024);
  });

  it('reconciles: refund below the estimate, debt above', () => {
    expect(actualTokens({ inputTokens: 30, outputTokens: 12 })).toBe(42);
    expect(reconciliationTokens(100, { inputTokens: 30, outputTokens: 12 })).toBe(-58);
    expect(reconciliationTokens(100, { inputTokens: 90, outputTokens: 40 })).toBe(30);
  });
});
