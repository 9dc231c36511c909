import { lstat, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { MAX_IPC_PATH_BYTES, parseEndpoint } from '../../src/transport/endpoint.js';
import { PrivateSocketDir, SOCKET_DIR_MODE } from '../../src/transport/private-socket-dir.js';

describe('PrivateSocketDir', () => {
  let dir: string;
  let umask: number;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'troupe-sockets-'));
    // The most permissive umask: the directory's mode must not depend on it.
    umask = process.umask(0o000);
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps sockets in <data-dir>/sockets, 0700, when the path fits', async () => {
    const sockets = await PrivateSocketDir.open(dir);
    const endpoint = sockets.endpointFor('primary');
    expect(endpoint).toBe(`ipc://${join(dir, 'sockets', 'primary.sock')}`);
    expect((await stat(join(dir, 'sockets'))).mode & 0o777).toBe(SOCKET_DIR_MODE);
    await sockets.close();
    // The directory inside the data directory stays.
    expect((await stat(join(dir, 'sockets'))).isDirectory()).toBe(true);
  });

  it('makes a private temporary directory, never a bare socket in a shared one, when the data directory is too deep', async () => {
    const deep = join(dir, 'a'.repeat(60), 'b'.repeat(60));
    await mkdir(deep, { recursive: true });
    const first = await PrivateSocketDir.open(deep);
    const second = await PrivateSocketDir.open(deep);
    try {
      expect(first.path).not.toBe(second.path);
      for (const sockets of [first, second]) {
        const path = sockets.endpointFor('primary').slice('ipc://'.length);
        expect(Buffer.byteLength(path)).toBeLessThanOrEqual(MAX_IPC_PATH_BYTES);
        expect(() => parseEndpoint(`ipc://${path}`, { role: 'bind' })).not.toThrow();
        expect(dirname(path)).toBe(sockets.path);
        const mode = await stat(sockets.path);
        expect(mode.mode & 0o777).toBe(SOCKET_DIR_MODE);
        expect(mode.uid).toBe(process.getuid?.());
      }
    } finally {
      await first.close();
      await second.close();
    }
    await expect(lstat(first.path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a sockets entry that is a symbolic link', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'troupe-elsewhere-'));
    try {
      await symlink(elsewhere, join(dir, 'sockets'));
      await expect(PrivateSocketDir.open(dir)).rejects.toThrow(/symbolic link/);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses a socket name that is not a plain short file name', async () => {
    const sockets = await PrivateSocketDir.open(dir);
    expect(() => sockets.endpointFor('../escape')).toThrow(/letters, digits/);
  });
});
