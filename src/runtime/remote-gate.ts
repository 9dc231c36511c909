import { randomUUID } from 'node:crypto';
import type { AdmitRequest, AttemptOutcome, Permit, ProviderGate } from '../conversation/provider-gate.js';
import type { FromWorker } from '../transport/protocol.js';
import type { ErrorData } from '../store/records.js';

interface PendingAdmit {
  readonly resolve: (permit: Permit) => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * A worker's side of the providers' gates: every admit and settle goes to the
 * primary, which owns the one rate limiter and circuit breaker per provider
 * account — that is what makes the limits hold whatever the number of workers.
 * One instance per worker serves every job and provider, keyed per request.
 */
export class RemoteGates {
  private readonly pending = new Map<string, PendingAdmit>();

  constructor(private readonly send: (message: FromWorker) => void) {}

  /** The gate of one provider of one job, as the sequence actors of that job use it. */
  gateFor(job: string, provider: string): ProviderGate {
    return {
      admit: (request, signal) => this.admit(job, provider, request, signal),
      settle: (permit, outcome) => this.settle(permit, outcome),
    };
  }

  /** The primary granted a permit. */
  granted(id: string, probe: boolean): void {
    const waiting = this.take(id);
    if (waiting) waiting.resolve({ id, probe });
    // A permit for a turn that gave up meanwhile: the primary already took the cancel as a release.
  }

  /** The primary cannot serve this admit. */
  refused(id: string, error: ErrorData): void {
    this.take(id)?.reject(Object.assign(new Error(error.message), { code: error.code }));
  }

  /** Admits still waiting for the primary (for tests and diagnostics). */
  get waiting(): number {
    return this.pending.size;
  }

  private admit(job: string, provider: string, request: AdmitRequest, signal: AbortSignal): Promise<Permit> {
    return new Promise<Permit>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const id = randomUUID();
      const onAbort = (): void => {
        if (!this.take(id)) return;
        this.send({ type: 'gate-cancel', id });
        reject(signal.reason as Error);
      };
      this.pending.set(id, { resolve, reject, signal, onAbort });
      signal.addEventListener('abort', onAbort, { once: true });
      this.send({ type: 'gate-admit', id, job, provider, request });
    });
  }

  private settle(permit: Permit, outcome: AttemptOutcome): void {
    this.send({ type: 'gate-settle', id: permit.id, outcome });
  }

  private take(id: string): PendingAdmit | undefined {
    const waiting = this.pending.get(id);
    if (!waiting) return undefined;
    this.pending.delete(id);
    waiting.signal.removeEventListener('abort', waiting.onAbort);
    return waiting;
  }
}
