/**
 * Reuse of answers already paid for (`run --reuse <job…>`): a conversation of the new job whose
 * requests would be identical to a stored one's — same provider type and base URL, model,
 * parameters, system prompt, prompts, checks and run number — gets that conversation's answered
 * turns copied instead of requested, each marked `reusedFrom`. Where the prompts part at turn k,
 * turns 1..k−1 are copied and k onwards requested; the job then continues like a resumed one, its
 * context rebuilt from the copied answers. Runs are never collapsed: run r reuses only a run r.
 *
 * The new suite's sequences are looked up a batch at a time (`ReuseFinder.find`), each by id in
 * the named jobs (one read per sequence and model), so a suite of a million sequences is matched
 * in one pass without being held.
 */
import { systemPromptOf } from '../conversation/context.js';
import { InputError } from '../errors.js';
import type { CheckpointStore, JobRecord, SequenceRecord, TurnRecord } from '../store/records.js';
import type { JudgeResult } from '../scoring/types.js';
import type { ModelConfig, SequenceConfig, SuiteSettings } from '../suite/types.js';
import type { ReusedConversation, ReusedTurns } from './forecast.js';

/** What a batch of sequences would copy. */
export interface ReuseBatch {
  /** What of each conversation of the batch is copied (for `ForecastBuilder.add`). */
  readonly reused: ReusedTurns;
  /** The turns to copy, under the new suite's model ids, each marked with the job it came from (`job` still the source's). */
  readonly turns: readonly TurnRecord[];
}

/** Finds, batch by batch, what of a new suite the named stored jobs already answered. */
export interface ReuseFinder {
  /** The named jobs, as given. */
  readonly sources: readonly string[];
  /** What of `sequences` (sequences of the new suite) would be copied. */
  find(sequences: readonly SequenceConfig[]): ReuseBatch;
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

/** A stored job and, per model of the new suite, its models whose requests are the same. */
interface Source {
  readonly job: JobRecord;
  readonly twins: ReadonlyMap<string, readonly ModelConfig[]>;
  readonly sameJudge: boolean;
}

/** One conversation's copy: the stored turns and where they came from. */
interface Copy {
  readonly from: string;
  readonly turns: readonly TurnRecord[];
}

/**
 * The reuse of a suite with `settings` from the stored jobs `sources`; an unknown id is an
 * `InputError` (thrown here, before anything is read or written).
 */
export function findReuse(
  store: CheckpointStore,
  settings: SuiteSettings,
  sources: readonly string[],
): ReuseFinder {
  const jobs: Source[] = sources.map((id) => {
    const job = store.getJob(id);
    if (job === undefined) throw new InputError(`--reuse: no job "${id}" in the store`);
    const twins = new Map(
      settings.models.map((model) => {
        const signature = requestSignature(settings, model);
        return [
          model.id,
          job.suite.models.filter((m) => requestSignature(job.suite, m) === signature),
        ] as const;
      }),
    );
    return {
      job,
      twins,
      sameJudge: JSON.stringify(job.suite.judge ?? null) === JSON.stringify(settings.judge ?? null),
    };
  });
  return {
    sources,
    find(sequences) {
      const copies = new Map<string, Copy>();
      const key = (model: string, sequence: string, run: number): string =>
        JSON.stringify([model, sequence, run]);
      for (const sequence of sequences) {
        for (const source of jobs) {
          // The earlier job's sequences are records of their own: one read per sequence.
          const old = store.getSequence(source.job.id, sequence.id);
          if (old === undefined) continue;
          const shared = sharedPrompts(sequence, old);
          if (shared === 0) continue;
          for (const model of settings.models) {
            for (const twin of source.twins.get(model.id) ?? []) {
              if (systemPromptOf(twin, old) !== systemPromptOf(model, sequence)) continue;
              addTwin(store, source, twin, model, old, shared, settings.runs, (run, copy) => {
                const at = key(model.id, sequence.id, run);
                if (copy.turns.length > (copies.get(at)?.turns.length ?? 0)) copies.set(at, copy);
              });
            }
          }
        }
      }
      const turns: TurnRecord[] = [];
      for (const copy of copies.values()) {
        for (const turn of copy.turns) turns.push({ ...turn, reusedFrom: copy.from });
      }
      return {
        turns,
        reused: (model, sequence, run): ReusedConversation => {
          const copy = copies.get(key(model, sequence, run));
          if (copy === undefined) return { turns: 0, graded: 0 };
          const graded = copy.turns.findIndex((t) => t.judge === undefined);
          return { turns: copy.turns.length, graded: graded === -1 ? copy.turns.length : graded };
        },
      };
    },
  };
}

function withoutUsage(judge: JudgeResult): JudgeResult {
  const { usage: _paid, ...rest } = judge;
  return rest;
}

/** The answered turns of `twin` in `old` (a sequence of `source`) each run of the new suite can copy. */
function addTwin(
  store: CheckpointStore,
  source: Source,
  twin: ModelConfig,
  model: ModelConfig,
  old: SequenceRecord,
  shared: number,
  runs: number,
  offer: (run: number, copy: Copy) => void,
): void {
  const byRun = new Map<number, TurnRecord[]>();
  for (const turn of store.turnsOf(source.job.id, twin.id, old.id)) {
    if (turn.run > runs) continue;
    const list = byRun.get(turn.run) ?? [];
    list.push(turn);
    byRun.set(turn.run, list);
  }
  for (const [run, stored] of byRun) {
    // Answered turns from the first, in order, within the shared prompts.
    stored.sort((a, b) => a.turn - b.turn);
    const usable: TurnRecord[] = [];
    for (const turn of stored) {
      if (turn.turn !== usable.length + 1 || turn.turn > shared || turn.status !== 'ok') break;
      // A grade from another judge is not this suite's: it is graded again. A grade copied keeps no
      // usage: it was paid for in the job it came from, and this job's spend counts what it paid.
      const { judge, ...rest } = turn;
      const copiedGrade = source.sameJudge && judge !== undefined ? withoutUsage(judge) : undefined;
      usable.push({ ...rest, model: model.id, ...(copiedGrade && { judge: copiedGrade }) });
    }
    if (usable.length > 0) offer(run, { from: source.job.id, turns: usable });
  }
}
