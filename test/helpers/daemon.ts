import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { CLI_PATH } from './cli.js';

/** Longest wait for the daemon to start or stop in a test, in ms. */
export const DAEMON_WAIT_MS = 30_000;

/** A `troupe daemon` child process, with its log lines parsed. */
export class DaemonProcess {
  readonly logs: Record<string, unknown>[] = [];
  private stderrRest = '';
  private exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.stderrRest + chunk).split('\n');
      this.stderrRest = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line, unparsed: true });
        }
      }
    });
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts `troupe daemon` on `dataDir` and waits until it says it started. `umask` (octal, e.g.
   * `000`) is set for the daemon by a shell that then becomes it.
   */
  static async start(
    dataDir: string,
    env: Record<string, string>,
    extraArgs: readonly string[] = [],
    options: { readonly umask?: string } = {},
  ): Promise<DaemonProcess> {
    const command = [process.execPath, CLI_PATH, 'daemon', '--data-dir', dataDir, ...extraArgs];
    const [file, args] =
      options.umask === undefined
        ? [command[0] ?? '', command.slice(1)]
        : ['/bin/sh', ['-c', `umask ${options.umask} && exec "$@"`, 'sh', ...command]];
    const child = spawn(file, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const daemon = new DaemonProcess(child);
    try {
      await daemon.waitForLog('daemon started');
    } catch (error) {
      // Not left running when it did not start in time.
      child.kill('SIGKILL');
      throw error;
    }
    return daemon;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Resolves when a log line with this message appears (rejects if the process exits first or after the wait limit). */
  async waitForLog(msg: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + DAEMON_WAIT_MS;
    for (;;) {
      const found = this.logs.find((line) => line.msg === msg);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`daemon exited before logging "${msg}": ${JSON.stringify(this.logs.slice(-5))}`);
      }
      if (Date.now() > deadline) throw new Error(`daemon did not log "${msg}" in time`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited();
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves (bounded) once it is gone. */
  async terminate(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      this.child.kill('SIGTERM');
      await this.exited();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits (bounded) for the process to exit. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return Promise.race([
      this.exit,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('daemon did not exit in time')), DAEMON_WAIT_MS).unref(),
      ),
    ]);
  }

  /** Pids of its live worker processes, from its logs. */
  workerPids(): number[] {
    return this.logs.filter((line) => line.msg === 'worker started').map((line) => Number(line.workerPid));
  }
}
