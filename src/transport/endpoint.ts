/**
 * Endpoints the transport accepts: `ipc://<path>` (a unix socket) and `tcp://<host>:<port>`.
 * An ipc socket troupe binds lives in a `PrivateSocketDir` (private-socket-dir.ts), never in a
 * directory others may enter.
 *
 * Only loopback tcp hosts (127.0.0.0/8, ::1, localhost) are accepted unless `allowRemote` is set:
 * workers on other hosts are a later feature, and they need authentication on the socket before
 * any caller should set it.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

import { TransportError } from './transport-error.js';

/** Longest unix socket path, in bytes: `sun_path` holds 108 bytes with the terminating zero. */
export const MAX_IPC_PATH_BYTES = 107;

/** Highest tcp port. */
const MAX_TCP_PORT = 65_535;

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
