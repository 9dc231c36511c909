/**
 * Endpoints the transport accepts: `ipc://<path>` (a unix socket) and `tcp://<host>:<port>`.
 *
 * Only loopback tcp hosts (127.0.0.0/8, ::1, localhost) are accepted unless `allowRemote` is set:
 * workers on other hosts are a later feature, and they need authentication on the socket before
 * any caller should set it.
 */
import { randomBytes } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { TransportError } from './transport-error.js';

/** Longest unix socket path, in bytes: `sun_path` holds 108 bytes with the terminating zero. */
export const MAX_IPC_PATH_BYTES = 107;

/** Highest tcp port. */
const MAX_TCP_PORT = 65_535;

/** Random bytes in the name of a fallback ipc socket under the temporary directory. */
const FALLBACK_NAME_RANDOM_BYTES = 8;

/** A parsed endpoint. */
export type ParsedEndpoint =
  | { readonly kind: 'ipc'; readonly path: string }
  | {
      readonly kind: 'tcp';
      /** As written, without brackets for IPv6. */
      readonly host: string;
      /** 0 (bind only) lets the system pick a free port. */
      readonly port: number;
      readonly ipv6: boolean;
    };

/** Options of `parseEndpoint`. */
export interface ParseEndpointOptions {
  /** `bind` accepts port 0 or `*` (any free port); `connect` needs a real port. */
  readonly role: 'bind' | 'connect';
  /** Accept tcp hosts other than loopback. Default false (see the module comment). */
  readonly allowRemote?: boolean;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for `localhost` and loopback IPv4/IPv6 addresses. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return loopback.check(host, 'ipv4');
  if (isIPv6(host)) return loopback.check(host, 'ipv6');
  return false;
}

/** Parses and checks an endpoint; throws `troupe:transport-bad-endpoint` naming what is wrong. */
export function parseEndpoint(endpoint: string, options: ParseEndpointOptions): ParsedEndpoint {
  const bad = (why: string): TransportError =>
    new TransportError('troupe:transport-bad-endpoint', `endpoint ${JSON.stringify(endpoint)}: ${why}`);
  if (endpoint.startsWith('ipc://')) {
    const path = endpoint.slice('ipc://'.length);
    if (path.length === 0 || path === '*') throw bad('expected ipc://<socket path>');
    const bytes = Buffer.byteLength(path);
    if (bytes > MAX_IPC_PATH_BYTES) {
      throw bad(
        `the socket path is ${bytes} bytes, longer than the ${MAX_IPC_PATH_BYTES} a unix socket allows`,
      );
    }
    return { kind: 'ipc', path };
  }
  const match = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5}|\*)$/.exec(endpoint);
  if (match === null) throw bad('expected ipc://<path> or tcp://<host>:<port>');
  const bracketed = match[1];
  const host = bracketed ?? match[2] ?? '';
  if (bracketed !== undefined && !isIPv6(bracketed)) throw bad(`[${bracketed}] is not an IPv6 address`);
  if (bracketed === undefined && isIPv6(host))
    throw bad('write an IPv6 host in brackets: tcp://[::1]:<port>');
  const port = match[3] === '*' ? 0 : Number(match[3]);
  if (port > MAX_TCP_PORT) throw bad(`port ${port} is above ${MAX_TCP_PORT}`);
  if (port === 0 && options.role === 'connect') throw bad('connecting needs a port, not 0 or *');
  if (!isLoopbackHost(host) && options.allowRemote !== true) {
    throw bad(`${host} is not a loopback address; only 127.0.0.0/8, ::1 and localhost are accepted`);
  }
  return { kind: 'tcp', host, port, ipv6: bracketed !== undefined };
}

/**
 * An ipc endpoint for a socket named `<name>.sock` in `directory` (made absolute, so that a
 * worker with another working directory reaches it). When that path is too long for a unix
 * socket, a unique short path under the system's temporary directory is used instead. The
 * directory must exist before binding.
 */
export function ipcEndpointIn(directory: string, name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new TransportError(
      'troupe:transport-bad-endpoint',
      `ipc socket name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-" only`,
    );
  }
  const preferred = join(resolve(directory), `${name}.sock`);
  if (Buffer.byteLength(preferred) <= MAX_IPC_PATH_BYTES) return `ipc://${preferred}`;
  const unique = `troupe-${name.slice(0, 16)}-${randomBytes(FALLBACK_NAME_RANDOM_BYTES).toString('hex')}.sock`;
  const fallback = join(tmpdir(), unique);
  if (Buffer.byteLength(fallback) > MAX_IPC_PATH_BYTES) {
    throw new TransportError(
      'troupe:transport-bad-endpoint',
      `no ipc path short enough for a unix socket: both ${preferred} and ${fallback} exceed ${MAX_IPC_PATH_BYTES} bytes`,
    );
  }
  return `ipc://${fallback}`;
}
