/**
 * A directory for ipc sockets that only this process's user can enter (mode 0700, whatever the
 * umask): a unix socket is reached through its directory, so nobody else can connect to a socket
 * in it, whatever the socket file's own mode. It is `<data-dir>/sockets` when a socket path there
 * fits a unix socket, else a fresh directory under the system's temporary directory (a long
 * data-directory path), removed again by `close`.
 */
import { chmod, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { MAX_IPC_PATH_BYTES } from './endpoint.js';
import { TransportError } from './transport-error.js';

/** The only mode a socket directory may have: its owner enters, reads and writes; nobody else anything. */
export const SOCKET_DIR_MODE = 0o700;

/** Longest socket name (without `.sock`) a directory must have room for. */
export const MAX_SOCKET_NAME_CHARS = 16;

/** Name of the socket directory inside the data directory. */
const SOCKET_DIR_NAME = 'sockets';

/** Prefix of a socket directory under the system's temporary directory. */
const TEMPORARY_PREFIX = 'troupe-';

const SOCKET_NAME = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_SOCKET_NAME_CHARS}}$`);

/** A private directory of ipc sockets; see the module comment. */
export class PrivateSocketDir {
  private constructor(
    /** The directory's absolute path. */
    readonly path: string,
    private readonly temporary: boolean,
  ) {}

  /**
   * The socket directory for `dataDir` (which must exist), created if needed and made 0700. An
   * existing one that is not a plain directory of this user (a symlink, another user's) is
   * refused with `troupe:transport-bind-failed`, never used.
   */
  static async open(dataDir: string): Promise<PrivateSocketDir> {
    const preferred = join(resolve(dataDir), SOCKET_DIR_NAME);
    const longest = join(preferred, `${'x'.repeat(MAX_SOCKET_NAME_CHARS)}.sock`);
    if (Buffer.byteLength(longest) <= MAX_IPC_PATH_BYTES) {
      try {
        await mkdir(preferred, { mode: SOCKET_DIR_MODE });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw bindFailed(preferred, error);
      }
      await makePrivate(preferred);
      return new PrivateSocketDir(preferred, false);
    }
    const temporary = await mkdtemp(join(tmpdir(), TEMPORARY_PREFIX));
    if (
      Buffer.byteLength(join(temporary, `${'x'.repeat(MAX_SOCKET_NAME_CHARS)}.sock`)) > MAX_IPC_PATH_BYTES
    ) {
      await rm(temporary, { recursive: true, force: true });
      throw new TransportError(
        'troupe:transport-bad-endpoint',
        `no ipc path short enough for a unix socket: both ${preferred} and ${temporary} are too long`,
      );
    }
    await makePrivate(temporary);
    return new PrivateSocketDir(temporary, true);
  }

  /** `ipc://<directory>/<name>.sock`; `name` is letters, digits, `.`, `_`, `-`, at most 16 characters. */
  endpointFor(name: string): string {
    if (!SOCKET_NAME.test(name)) {
      throw new TransportError(
        'troupe:transport-bad-endpoint',
        `ipc socket name ${JSON.stringify(name)}: use at most ${MAX_SOCKET_NAME_CHARS} letters, digits, ".", "_" and "-"`,
      );
    }
    return `ipc://${join(this.path, `${name}.sock`)}`;
  }

  /** Removes a temporary directory (its sockets closed first); the one in the data directory stays. */
  async close(): Promise<void> {
    if (this.temporary) await rm(this.path, { recursive: true, force: true });
  }
}

/** Makes `path` 0700 after checking it is a real directory of this user; the umask plays no part. */
async function makePrivate(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    throw bindFailed(path, error);
  }
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new TransportError(
      'troupe:transport-bind-failed',
      `${path} must be a directory of user ${uid ?? '?'} for the control and worker sockets; found ${
        stats.isSymbolicLink()
          ? 'a symbolic link'
          : stats.isDirectory()
            ? `one of user ${stats.uid}`
            : 'a file'
      } (remove it)`,
    );
  }
  await chmod(path, SOCKET_DIR_MODE);
}

function bindFailed(path: string, error: unknown): TransportError {
  const reason = (error as NodeJS.ErrnoException).code ?? String(error);
  return new TransportError(
    'troupe:transport-bind-failed',
    `cannot make the socket directory ${path}: ${reason}`,
    undefined,
    error,
  );
}
