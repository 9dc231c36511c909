/**
 * The primary's side of the workers' gate traffic: a worker's `gate-admit` waits here on the
 * daemon's one gate of the provider (limiter, breaker, spend cap), and the permit, refusal or
 * nothing (cancelled) goes back to the worker. `RemoteGates` is the worker's side.
 */
import { GateRefusal } from '../conversation/provider-gate.js';
import type { AdmitRequest, AttemptOutcome, Permit, ProviderGate } from '../conversation/provider-gate.js';
import { ERROR_CODES } from '../resilience/errors.js';
import type { JobRecord } from '../store/records.js';
import type { ToWorker } from '../transport/protocol.js';

/** What the gate server needs of the pool. */
export interface WorkerGateServerDeps {
  /** The running job of that id, if any. */
  readonly jobOf: (jobId: string) => JobRecord | undefined;
  /** The gate of one provider of one job (see `GateRegistry.gateFor`). */
  readonly gateFor: (job: JobRecord, provider: string) => ProviderGate;
  /** Sends to the live worker of that id; dropped when it has none. */
  readonly send: (worker: string, message: ToWorker) => void;
}

interface RemoteAdmit {
  readonly worker: string;
  readonly abort: AbortController;
  readonly gate: ProviderGate;
  permit: Permit | undefined;
}

const CANCELLED: AttemptOutcome = { kind: 'cancelled', headers: {} };

/** Admits and permits of the workers, by the id the worker gave them. */
export class WorkerGateServer {
  private readonly admits = new Map<string, RemoteAdmit>();

  constructor(private readonly deps: WorkerGateServerDeps) {}

  /** A worker asks for a permit for one attempt of `request`. */
  admit(worker: string, id: string, jobId: string, provider: string, request: AdmitRequest): void {
    const job = this.deps.jobOf(jobId);
    if (!job) {
      this.deps.send(worker, {
        type: 'gate-refused',
        id,
        error: { code: ERROR_CODES.cannotStart, message: `job ${jobId} is not running` },
      });
      return;
    }
    let gate: ProviderGate;
    try {
      gate = this.deps.gateFor(job, provider);
    } catch (error) {
      this.deps.send(worker, {
        type: 'gate-refused',
        id,
        error: { code: ERROR_CODES.internal, message: String(error) },
      });
      return;
    }
    const admit: RemoteAdmit = { worker, abort: new AbortController(), gate, permit: undefined };
    this.admits.set(id, admit);
    gate.admit(request, admit.abort.signal).then(
      (permit) => {
        if (this.admits.get(id) !== admit) {
          // Cancelled or its worker died while the permit was on its way: give it back.
          gate.settle(permit, CANCELLED);
          return;
        }
        admit.permit = permit;
        this.deps.send(worker, { type: 'gate-permit', id, probe: permit.probe });
      },
      (error: unknown) => {
        // Aborted: nothing was granted. Refused: the turn fails with the gate's reason.
        if (this.admits.get(id) === admit && error instanceof GateRefusal)
          this.deps.send(worker, { type: 'gate-refused', id, error: error.error });
        this.admits.delete(id);
      },
    );
  }

  /** The worker gave up waiting (or its turn ended): a permit granted meanwhile goes back unused. */
  cancel(id: string): void {
    const admit = this.admits.get(id);
    if (!admit) return;
    this.admits.delete(id);
    if (admit.permit) admit.gate.settle(admit.permit, CANCELLED);
    else admit.abort.abort();
  }

  /** The worker reports how the attempt a permit covered ended. */
  settle(id: string, outcome: AttemptOutcome): void {
    const admit = this.admits.get(id);
    if (!admit?.permit) return;
    this.admits.delete(id);
    admit.gate.settle(admit.permit, outcome);
  }

  /** A worker died: its permits go back to the limiter, the requests they covered died with it. */
  workerGone(worker: string): void {
    for (const [id, admit] of this.admits) if (admit.worker === worker) this.cancel(id);
  }

  /** Stops waiting for every admit (the pool stops). */
  close(): void {
    for (const admit of this.admits.values()) admit.abort.abort();
    this.admits.clear();
  }
}
