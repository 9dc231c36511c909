import type { JobStatus, ModelStatus } from '../actors/supervisor.js';
import { describeProviderStatus } from '../runtime/provider-status.js';
import { sanitizeForTerminal } from '../results/terminal-text.js';

/** Width of the bar in characters. */
const BAR_WIDTH = 28;
/** Without a terminal, one plain progress line per model at most this often, in ms. */
export const PLAIN_PROGRESS_INTERVAL_MS = 10_000;

/** Shows a job's progress while it runs. */
export interface ProgressDisplay {
  update(status: JobStatus): void;
  /** Draws the final state once more and leaves the cursor below it. */
  finish(status: JobStatus): void;
}

/**
 * A progress bar per model on a terminal (redrawn in place), or plain periodic
 * lines when the output is a file or a pipe (CI logs, process managers).
 */
export function createProgressDisplay(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  clock: { now(): number } = Date,
): ProgressDisplay {
  return stream.isTTY ? new TerminalProgress(stream) : new PlainProgress(stream, clock);
}

class TerminalProgress implements ProgressDisplay {
  private drawnLines = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}

  update(status: JobStatus): void {
    const lines = status.models.map((model) => formatModelLine(model, nameWidth(status), true));
    // Move up over the previous drawing and clear each line before redrawing it.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    this.stream.write(up + lines.map((line) => `\x1b[2K${line}\n`).join(''));
    this.drawnLines = lines.length;
  }

  finish(status: JobStatus): void {
    this.update(status);
    this.drawnLines = 0;
  }
}

class PlainProgress implements ProgressDisplay {
  private lastPrintedAt = Number.NEGATIVE_INFINITY;
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly clock: { now(): number },
  ) {}

  update(status: JobStatus): void {
    const now = this.clock.now();
    if (now - this.lastPrintedAt < PLAIN_PROGRESS_INTERVAL_MS) return;
    this.lastPrintedAt = now;
    this.print(status);
  }

  finish(status: JobStatus): void {
    this.print(status);
  }

  private print(status: JobStatus): void {
    for (const model of status.models)
      this.stream.write(`${formatModelLine(model, nameWidth(status), false)}\n`);
  }
}

function nameWidth(status: JobStatus): number {
  return Math.max(...status.models.map((model) => model.model.length), 5);
}

/** One model's progress as a line: name, bar (terminal only), done/total, failures, rate, ETA. */
export function formatModelLine(model: ModelStatus, width: number, withBar: boolean): string {
  const { ok, failed, skipped, total } = model.counts;
  const done = ok + failed + skipped;
  const bar = withBar ? ` ${renderBar(done, total, BAR_WIDTH)}` : '';
  const problems = failed + skipped > 0 ? `  failed ${failed} skipped ${skipped}` : '';
  const rate = `${model.turnsPerSecond.toFixed(1)} turns/s`;
  const eta = done >= total ? 'done' : `ETA ${formatDuration(model.etaSeconds)}`;
  // A provider that is not taking requests is why a bar stalls, and failing requests why turns
  // fail while it is healthy: say so on its line.
  const status = model.providerStatus;
  const provider =
    status && (status.state !== 'ok' || (status.repeatedFailures ?? 0) > 0) && done < total
      ? `  [${sanitizeForTerminal(`${model.provider}: ${describeProviderStatus(status)}`)}]`
      : '';
  return `${sanitizeForTerminal(model.model).padEnd(width)}${bar} ${String(done).padStart(String(total).length)}/${total}${problems}  ${rate}  ${eta}${provider}`;
}

/** `[#####.....]` for `done` of `total`, `width` characters inside the brackets. */
export function renderBar(done: number, total: number, width: number): string {
  const filled = total === 0 ? width : Math.min(width, Math.floor((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** `1:05`, `1:02:03`, or `?` when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  const whole = Math.ceil(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
