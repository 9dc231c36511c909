/**
 * The socket file a bound ipc endpoint creates. libzmq leaves it behind when the socket closes,
 * so the router removes it, but only if it is still the file it bound: a daemon started since
 * may have bound the same path, and its socket must survive.
 */
import { rm, stat } from 'node:fs/promises';

/** The file behind one bound ipc endpoint, identified by device and inode. */
export class IpcSocketFile {
  private constructor(
    /** The socket file's path. */
    readonly path: string,
    private readonly dev: number,
    private readonly ino: number,
  ) {}

  /** Identifies the socket file at `path` just after binding; undefined if there is none (abstract socket). */
  static async identify(path: string): Promise<IpcSocketFile | undefined> {
    try {
      const stats = await stat(path);
      return stats.isSocket() ? new IpcSocketFile(path, stats.dev, stats.ino) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Removes the file if it is still the one identified. Never throws: a leftover file is harmless. */
  async remove(): Promise<void> {
    try {
      const stats = await stat(this.path);
      if (stats.dev === this.dev && stats.ino === this.ino) await rm(this.path, { force: true });
    } catch {
      // Already gone, or not ours to remove.
    }
  }
}
