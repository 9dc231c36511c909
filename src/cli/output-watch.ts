/**
 * Notices when the reader of the process's output goes away (`troupe run … | head -1`,
 * `troupe results … | head`). Node ignores SIGPIPE, so the next write fails with EPIPE, emitted
 * as an 'error' event that would end the process with an uncaught stack. Watched, the error is
 * taken as the end of the output: later writes are dropped (the stream is destroyed), and the
 * command learns of it to finish quietly once its work is safe.
 */

/** Errors that mean the reader went away, not that something broke. */
const CLOSED_CODES: ReadonlySet<string> = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/** The state of one watched output stream. */
export class OutputWatch {
  private closedBy: unknown;
  private readonly listeners = new Set<() => void>();

  /** Watches `stream`; an error other than a closed reader is reported through `onOtherError`. */
  constructor(stream: NodeJS.WritableStream, onOtherError: (error: unknown) => void) {
    stream.on('error', (error: unknown) => {
      if (this.closedBy !== undefined) return;
      this.closedBy = error;
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || !CLOSED_CODES.has(code)) onOtherError(error);
      for (const listener of this.listeners) listener();
      this.listeners.clear();
    });
  }

  /** True once the stream failed (its reader went away): nothing written reaches anyone. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** Runs `listener` once when the stream closes (at once if it already has); returns an unsubscribe. */
  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
