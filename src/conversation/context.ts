import { createHash } from 'node:crypto';
import type { ChatMessage } from '../providers/types.js';
import type { ModelConfig, SequenceConfig } from '../suite/types.js';

/**
 * The system prompt a conversation of `model` on `sequence` starts with: the
 * model's own, then the sequence's, joined by a blank line; undefined if neither.
 */
export function systemPromptOf(model: ModelConfig, sequence: SequenceConfig): string | undefined {
  const parts = [model.system, sequence.system].filter(
    (part): part is string => part !== undefined && part !== '',
  );
  return parts.length === 0 ? undefined : parts.join('\n\n');
}

/**
 * One conversation's history: the user prompts sent and the answers received, in
 * order. Immutable: `withExchange` returns a new value, so a context can never be
 * changed behind the back of the actor that owns it.
 */
export class ConversationContext {
  private constructor(
    private readonly system: string | undefined,
    private readonly exchanges: readonly ChatMessage[],
  ) {}

  /** An empty conversation (no turn answered yet). */
  static start(system: string | undefined): ConversationContext {
    return new ConversationContext(system, []);
  }

  /** Number of answered turns. */
  get answeredTurns(): number {
    return this.exchanges.length / 2;
  }

  /** The messages of the next request: system (if any), every earlier exchange, then `prompt`. */
  requestFor(prompt: string): ChatMessage[] {
    const messages: ChatMessage[] = [];
    if (this.system !== undefined) messages.push({ role: 'system', content: this.system });
    messages.push(...this.exchanges, { role: 'user', content: prompt });
    return messages;
  }

  /** This context after `prompt` was answered with `answer`. */
  withExchange(prompt: string, answer: string): ConversationContext {
    return new ConversationContext(this.system, [
      ...this.exchanges,
      { role: 'user', content: prompt },
      { role: 'assistant', content: answer },
    ]);
  }
}

/** SHA-256 (hex) of a request's messages, stored with each turn as proof of the context sent. */
export function hashMessages(messages: readonly ChatMessage[]): string {
  const hash = createHash('sha256');
  for (const message of messages) {
    // Length-prefixed so that no two different message lists hash alike.
    hash.update(`${message.role}:${Buffer.byteLength(message.content)}:`);
    hash.update(message.content);
  }
  return hash.digest('hex');
}
