/**
 * Reuse of answers already paid for (`run --reuse <job…>`): a conversation of the new job whose
 * requests would be identical to a stored one's — same provider type and base URL, model,
 * parameters, system prompt, prompts, checks and run number — gets that conversation's answered
 * turns copied instead of requested, each marked `reusedFrom`. Where the prompts part at turn k,
 * turns 1..k−1 are copied and k onwards requested; the job then continues like a resumed one, its
 * context rebuilt from the copied answers. Runs are never collapsed: run r reuses only a run r.
 */
import { systemPromptOf } from '../conversation/context.js';
import { InputError } from '../errors.js';
import type { CheckpointStore, JobRecord, TurnRecord } from '../store/records.js';
import type { ModelConfig, SequenceConfig, Suite, SuiteSettings } from '../suite/types.js';
import type { ReusedTurns } from './forecast.js';

/** What would be copied: per (model, sequence, run) of the new suite, the stored turns to copy. */
export interface ReusePlan {
  /** Leading turns copied per conversation (for `forecastSuite`). */
  readonly reused: ReusedTurns;
  /** Turns copied in all. */
  readonly turns: number;
  /** Copies the turns into `job` (a job of the same suite), marked with the job they came from. */
  apply(store: CheckpointStore, job: string): Promise<void>;
}

/** Everything that makes a model's requests what they are, but its id. */
function requestSignature(suite: SuiteSettings, model: ModelConfig): string {
  const provider = suite.providers[model.provider];
  const baseURL = provider !== undefined && provider.type !== 'simulated' ? provider.baseURL : undefined;
  return JSON.stringify([
    provider?.type,
    baseURL ?? null,
    model.model,
    model.temperature ?? null,
    model.maxTokens,
  ]);
}

/** How many leading prompts (and their checks) two sequences share, system prompts aside. */
function sharedPrompts(a: SequenceConfig, b: SequenceConfig): number {
  let k = 0;
  while (
    k < a.prompts.length &&
    k < b.prompts.length &&
    a.prompts[k] === b.prompts[k] &&
    JSON.stringify(a.checks?.[k] ?? []) === JSON.stringify(b.checks?.[k] ?? [])
  ) {
    k += 1;
  }
  return k;
}

/** One conversation's copy: the stored turns and where they came from. */
interface Copy {
  readonly from: string;
  readonly turns: readonly TurnRecord[];
}

/** The reuse of `suite` from the stored jobs `sources` (an unknown id is an `InputError`). */
export function planReuse(store: CheckpointStore, suite: Suite, sources: readonly string[]): ReusePlan {
  const copies = new Map<string, Copy>();
  const key = (model: string, sequence: string, run: number): string =>
    JSON.stringify([model, sequence, run]);
  for (const id of sources) {
    const source = store.getJob(id);
    if (source === undefined) throw new InputError(`--reuse: no job "${id}" in the store`);
    addSource(store, source, suite, copies, key);
  }
  let turns = 0;
  for (const copy of copies.values()) turns += copy.turns.length;
  return {
    reused: (model, sequence, run) => copies.get(key(model, sequence, run))?.turns.length ?? 0,
    turns,
    async apply(target, job) {
      const records: TurnRecord[] = [];
      for (const copy of copies.values()) {
        for (const turn of copy.turns) records.push({ ...turn, job, reusedFrom: copy.from });
      }
      if (records.length > 0) await target.putTurns(records);
    },
  };
}

function addSource(
  store: CheckpointStore,
  source: JobRecord,
  suite: Suite,
  copies: Map<string, Copy>,
  key: (model: string, sequence: string, run: number) => string,
): void {
  const sameJudge = JSON.stringify(source.suite.judge ?? null) === JSON.stringify(suite.judge ?? null);
  for (const model of suite.models) {
    const signature = requestSignature(suite, model);
    const twins = source.suite.models.filter((m) => requestSignature(source.suite, m) === signature);
    for (const twin of twins) {
      for (const sequence of suite.sequences) {
        // The earlier job's sequences are records of their own: one read per sequence.
        const old = store.getSequence(source.id, sequence.id);
        if (old === undefined || systemPromptOf(twin, old) !== systemPromptOf(model, sequence)) continue;
        const shared = sharedPrompts(sequence, old);
        if (shared === 0) continue;
        const stored = store.turnsOf(source.id, twin.id, sequence.id);
        for (let run = 1; run <= suite.runs; run += 1) {
          // Answered turns from the first, in order, within the shared prompts.
          const own = stored.filter((t) => t.run === run).sort((a, b) => a.turn - b.turn);
          const usable: TurnRecord[] = [];
          for (const turn of own) {
            if (turn.turn !== usable.length + 1 || turn.turn > shared || turn.status !== 'ok') break;
            // A grade from another judge is not this suite's: it is graded again.
            const { judge, ...rest } = turn;
            usable.push({ ...rest, model: model.id, ...(sameJudge && judge !== undefined && { judge }) });
          }
          const at = key(model.id, sequence.id, run);
          if (usable.length > (copies.get(at)?.turns.length ?? 0))
            copies.set(at, { from: source.id, turns: usable });
        }
      }
    }
  }
}
