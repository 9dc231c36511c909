import { spawn } from 'node:child_process';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDaemonInfo } from '../src/daemon/daemon-lock.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { tempDir } from './helpers/temp.js';

/** The data directory's path length in bytes: past what a unix socket path may be (107). */
const DATA_DIR_BYTES = 120;

/** uid and gid of `nobody` on Debian and most Linux systems. */
const NOBODY_ID = 65_534;

const IS_ROOT = process.getuid?.() === 0;

/** Connects to the unix socket at `path` as `nobody`; resolves with `connected` or the error code. */
function connectAsNobody(path: string): Promise<string> {
  // Only Node's own modules are loaded, so nobody needs no access to this checkout.
  const script = `const s = require('node:net').connect(process.env.SOCKET_PATH);
s.on('connect', () => { console.log('connected'); s.destroy(); });
s.on('error', (e) => console.log(e.code));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      uid: NOBODY_ID,
      gid: NOBODY_ID,
      cwd: '/',
      env: { SOCKET_PATH: path },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
  });
}

describe('the control socket stays private', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let daemon: DaemonProcess | undefined;
  let dataDir: string;

  beforeEach(async () => {
    dir = await tempDir();
    // Others may walk to the data directory: only the socket's own directory may keep them out.
    await chmod(dir.path, 0o755);
    const fill = DATA_DIR_BYTES - Buffer.byteLength(join(dir.path, 'd-'));
    dataDir = join(dir.path, `d-${'x'.repeat(fill)}`);
    await mkdir(dataDir, { mode: 0o777 });
    await chmod(dataDir, 0o777);
    expect(Buffer.byteLength(dataDir)).toBe(DATA_DIR_BYTES);
    daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0'], { umask: '000' });
  });

  afterEach(async () => {
    await daemon?.terminate();
    daemon = undefined;
    await dir.cleanup();
  });

  async function controlSocket(): Promise<string> {
    const info = await readDaemonInfo(dataDir);
    const endpoint = info?.controlEndpoint ?? '';
    expect(endpoint).toMatch(/^ipc:\/\//);
    return endpoint.slice('ipc://'.length);
  }

  it('lives in a directory of its own, 0700 and the daemon user’s, under umask 000 and a 120-byte data directory', async () => {
    const socket = await controlSocket();
    expect((await stat(socket)).isSocket()).toBe(true);
    const directory = await stat(dirname(socket));
    expect(directory.mode & 0o777).toBe(0o700);
    expect(directory.uid).toBe(process.getuid?.());
    // The CLI, as the daemon's user, still reaches it.
    const jobs = await runCli(['jobs', '--data-dir', dataDir]);
    expect(jobs.stderr).toBe('');
    expect(jobs.stdout).toContain('no jobs yet');
  });

  it.skipIf(!IS_ROOT)(
    'lets no other user connect: a client run as nobody is refused (needs root to become nobody; skipped when not root)',
    async () => {
      const socket = await controlSocket();
      expect(await connectAsNobody(socket)).toBe('EACCES');
      // With the directory opened up, the same client connects: the directory is what kept it out.
      await chmod(dirname(socket), 0o711);
      expect(await connectAsNobody(socket)).toBe('connected');
    },
  );

  it('removes its temporary directory when the daemon stops', async () => {
    const socket = await controlSocket();
    await daemon?.stop('SIGTERM');
    await expect(stat(dirname(socket))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('with a short data-directory path', () => {
  it('the sockets directory inside it is 0700 under umask 000 too', async () => {
    const dir = await tempDir();
    const dataDir = join(dir.path, 'data');
    const daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '1'], { umask: '000' });
    try {
      const info = await readDaemonInfo(dataDir);
      expect(info?.controlEndpoint).toBe(`ipc://${join(dataDir, 'sockets', 'control.sock')}`);
      expect((await stat(join(dataDir, 'sockets'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(dataDir, 'sockets', 'workers.sock'))).isSocket()).toBe(true);
    } finally {
      await daemon.terminate();
      await dir.cleanup();
    }
  });
});
