/** The abort signal of one provider request: the caller's cancel or the request's timeout. */

/** Node's timers fire at once for delays above this, so longer timeouts are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Aborts when the caller's signal aborts or `timeoutMs` passes, whichever comes first, and
 * remembers which. The SDKs' own timeout stops at the response headers; this one also covers
 * reading the body.
 */
export class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private expired = false;
  private readonly onCallerAbort = (): void => this.controller.abort();

  constructor(
    timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.timer = setTimeout(
      () => {
        this.expired = true;
        this.controller.abort();
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    if (callerSignal?.aborted) this.controller.abort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Pass this to the SDK. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the caller cancelled (takes precedence over a timeout). */
  get cancelled(): boolean {
    return this.callerSignal?.aborted === true;
  }

  /** True when the timeout passed before the caller cancelled. */
  get timedOut(): boolean {
    return this.expired && !this.cancelled;
  }

  /** Stops the timer and lets go of the caller's signal. */
  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}
