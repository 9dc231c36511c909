/**
 * The baseline: the same conversations as a troupe job, sent with the same SDK calls troupe's
 * providers make (`maxRetries: 0`, the same parameters, `.withResponse()`), with the context
 * accumulated by hand and nothing else — no actors, no limiter, no store.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { performance } from 'node:perf_hooks';
import type { Suite } from '../../src/suite/types.js';
import { BENCH_KEY_ENV } from './suite-text.js';

/** The SDKs take a per-request timeout; troupe's default, in ms. */
const REQUEST_TIMEOUT_MS = 120_000;

type Message = { role: 'system' | 'user' | 'assistant'; content: string };

/** One conversation, as a troupe job would hold it. */
export interface BareConversation {
  readonly api: 'openai' | 'anthropic';
  /** Which client sends it (one per provider, as in troupe). */
  readonly provider: string;
  readonly model: string;
  readonly maxTokens: number;
  readonly temperature?: number;
  readonly system?: string;
  readonly prompts: readonly string[];
}

/** Every conversation of `suite`, model by model, sequence by sequence, run by run. */
export function conversationsOf(suite: Suite): BareConversation[] {
  const conversations: BareConversation[] = [];
  for (const model of suite.models) {
    const provider = suite.providers[model.provider];
    if (provider === undefined || provider.type === 'simulated') {
      throw new Error(`bare loop: model ${model.id} needs an openai or anthropic provider`);
    }
    for (const sequence of suite.sequences) {
      const systemParts = [model.system, sequence.system].filter(
        (part): part is string => part !== undefined && part !== '',
      );
      for (let run = 1; run <= suite.runs; run += 1) {
        conversations.push({
          api: provider.type,
          provider: model.provider,
          model: model.model,
          maxTokens: model.maxTokens,
          ...(model.temperature !== undefined && { temperature: model.temperature }),
          ...(systemParts.length > 0 && { system: systemParts.join('\n\n') }),
          prompts: sequence.prompts,
        });
      }
    }
  }
  return conversations;
}

/** Sends one request and returns the answer's text. */
type Send = (conversation: BareConversation, messages: readonly Message[]) => Promise<string>;

/** One SDK client per provider of the suite, like troupe's. */
function clientsFor(suite: Suite, env: NodeJS.ProcessEnv): Send {
  const senders = new Map<string, Send>();
  for (const [id, provider] of Object.entries(suite.providers)) {
    if (provider.type === 'openai') {
      const client = new OpenAI({
        apiKey: env[BENCH_KEY_ENV.openai],
        baseURL: provider.baseURL,
        maxRetries: 0,
      });
      senders.set(id, async (conversation, messages) => {
        const { data } = await client.chat.completions
          .create(
            {
              model: conversation.model,
              messages: messages.map((m) => ({ role: m.role, content: m.content })),
              max_tokens: conversation.maxTokens,
              temperature: conversation.temperature,
            },
            { timeout: REQUEST_TIMEOUT_MS, maxRetries: 0 },
          )
          .withResponse();
        const text = data.choices[0]?.message.content;
        if (typeof text !== 'string' || text === '') throw new Error('bare loop: an answer without text');
        return text;
      });
    } else if (provider.type === 'anthropic') {
      const client = new Anthropic({
        apiKey: env[BENCH_KEY_ENV.anthropic],
        authToken: null,
        baseURL: provider.baseURL,
        maxRetries: 0,
      });
      senders.set(id, async (conversation, messages) => {
        const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
        const turns = messages
          .filter((m) => m.role !== 'system')
          .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
        const { data } = await client.messages
          .create(
            {
              model: conversation.model,
              max_tokens: conversation.maxTokens,
              ...(system.length > 0 && { system: system.join('\n\n') }),
              messages: turns,
            },
            { timeout: REQUEST_TIMEOUT_MS, maxRetries: 0 },
          )
          .withResponse();
        const text = data.content
          .filter((block) => block.type === 'text')
          .map((block) => block.text)
          .join('');
        if (text === '') throw new Error('bare loop: an answer without text');
        return text;
      });
    }
  }
  return (conversation, messages) => {
    const send = senders.get(conversation.provider);
    if (!send) throw new Error(`bare loop: no client for provider ${conversation.provider}`);
    return send(conversation, messages);
  };
}

/** How many conversations run at once: all of them, or a pool of this many. */
export type BareConcurrency = 'all' | number;

/** What the bare loop did. */
export interface BareRun {
  readonly wallMs: number;
  readonly turns: number;
}

/**
 * Runs every conversation of `suite`, each turn after the previous one's answer. With
 * `'all'`, every conversation starts at once; with a number C, C loops take conversations in
 * turn, so that C requests are in flight until the last conversations. Throws on the first
 * failed request (there are no retries to hide one).
 */
export async function runBareLoop(
  suite: Suite,
  env: NodeJS.ProcessEnv,
  concurrency: BareConcurrency,
): Promise<BareRun> {
  const conversations = conversationsOf(suite);
  const send = clientsFor(suite, env);
  let turns = 0;
  const converse = async (conversation: BareConversation): Promise<void> => {
    const messages: Message[] = [];
    if (conversation.system !== undefined) messages.push({ role: 'system', content: conversation.system });
    for (const prompt of conversation.prompts) {
      messages.push({ role: 'user', content: prompt });
      const answer = await send(conversation, messages);
      messages.push({ role: 'assistant', content: answer });
      turns += 1;
    }
  };
  const started = performance.now();
  if (concurrency === 'all') {
    await Promise.all(conversations.map(converse));
  } else {
    let next = 0;
    const loop = async (): Promise<void> => {
      // Bounded: every pass takes one of the conversations.
      while (next < conversations.length) {
        const conversation = conversations[next++];
        if (conversation) await converse(conversation);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
  }
  return { wallMs: performance.now() - started, turns };
}
