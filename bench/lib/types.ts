/** The shapes every workload shares: its options, the cases it measures, the targets it checks. */

/** Options of one bench run, from the command line. */
export interface BenchOptions {
  /** Smaller sizes, for a smoke run. */
  readonly quick: boolean;
  /**
   * Worker processes for troupe's sequence actors (0: everything in this process); undefined:
   * the workload's default (0 for the in-process workloads, the daemon's own for `recovery`).
   */
  readonly workers: number | undefined;
  /** Log level of troupe's engine (JSON lines on stderr). */
  readonly logLevel: string;
  /** Rounds of each comparison; every case keeps its fastest. Default 1. */
  readonly repeat: number;
  /** Overhead workload: run the simulator in this process instead of a child process. */
  readonly simulatorInProcess: boolean;
}

/** One measured execution inside a workload: troupe with some settings, or the bare SDK loop. */
export interface CaseResult {
  /** Short name, e.g. `troupe, maxConcurrency 1000` or `bare SDK loop`. */
  readonly label: string;
  readonly kind: 'troupe' | 'bare';
  /** Turns (requests that succeeded) in this case. */
  readonly turns: number;
  /** Wall time of the work itself, in ms (for troupe: from `runJob` to its end). */
  readonly wallMs: number;
  /** The lower bound on the wall time, in ms, when it is meaningful for this case. */
  readonly lowerBoundMs?: number;
  /** Which term of the lower bound dominates (`T·L`, `(N−B)/R`, `N·L/C`). */
  readonly boundTerm?: string;
  /** Turns per second. */
  readonly turnsPerSecond: number;
  /** 429 answers the simulator sent during this case. */
  readonly rateLimited: number;
  /** Most requests the simulator had open at once during this case, when known. */
  readonly maxInFlight?: number;
  /** CPU time (user + system, all threads) this process spent during the case, in ms. */
  readonly cpuMs?: number;
  /** Highest resident set size of this process sampled during the case, in bytes. */
  readonly peakRssBytes: number;
  /** Anything else worth printing: gaps between turns, attempts, … (numbers are ms unless named). */
  readonly details?: Readonly<Record<string, number | string>>;
}

/** A figure compared with its target. */
export interface TargetCheck {
  readonly label: string;
  readonly value: number;
  readonly op: '<=' | '>=';
  readonly target: number;
  readonly met: boolean;
}

/** What a workload reports. */
export interface WorkloadResult {
  readonly name: string;
  /** One line: what ran, how big. */
  readonly description: string;
  readonly cases: readonly CaseResult[];
  readonly targets: readonly TargetCheck[];
  /** Derived figures, e.g. `troupe ÷ bare throughput`. */
  readonly ratios: Readonly<Record<string, number>>;
  readonly notes: readonly string[];
}

/** A named workload. */
export interface Workload {
  readonly name: string;
  readonly summary: string;
  run(options: BenchOptions): Promise<WorkloadResult>;
}

/** A target check for `value op target`. */
export function check(label: string, value: number, op: '<=' | '>=', target: number): TargetCheck {
  const met = op === '<=' ? value <= target : value >= target;
  return { label, value, op, target, met };
}
