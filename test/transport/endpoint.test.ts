import { describe, expect, it } from 'vitest';

import { isLoopbackHost, MAX_IPC_PATH_BYTES, parseEndpoint } from '../../src/transport/endpoint.js';
import { checkRoutingId, peerIdOf } from '../../src/transport/routing-id.js';

describe('parseEndpoint', () => {
  it('accepts loopback tcp hosts and reports their port', () => {
    expect(parseEndpoint('tcp://127.0.0.1:5555', { role: 'connect' })).toEqual({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 5555,
      ipv6: false,
    });
    expect(parseEndpoint('tcp://[::1]:80', { role: 'connect' })).toMatchObject({ host: '::1', ipv6: true });
    expect(parseEndpoint('tcp://localhost:1', { role: 'connect' })).toMatchObject({ host: 'localhost' });
    expect(parseEndpoint('tcp://127.3.2.1:0', { role: 'bind' })).toMatchObject({ port: 0 });
    expect(parseEndpoint('tcp://127.0.0.1:*', { role: 'bind' })).toMatchObject({ port: 0 });
  });

  it('refuses remote hosts unless allowed', () => {
    for (const endpoint of [
      'tcp://10.0.0.1:5555',
      'tcp://0.0.0.0:5555',
      'tcp://*:5555',
      'tcp://example.com:5555',
    ]) {
      expect(() => parseEndpoint(endpoint, { role: 'bind' }), endpoint).toThrow(/not a loopback address/);
    }
    expect(parseEndpoint('tcp://10.0.0.1:5555', { role: 'connect', allowRemote: true })).toMatchObject({
      host: '10.0.0.1',
    });
  });

  it('names what is wrong with a malformed endpoint', () => {
    const bad: [string, RegExp][] = [
      ['http://127.0.0.1:80', /expected ipc:\/\/<path> or tcp:\/\/<host>:<port>/],
      ['tcp://127.0.0.1', /expected ipc/],
      ['tcp://127.0.0.1:99999', /above 65535/],
      ['tcp://127.0.0.1:0', /connecting needs a port/],
      ['tcp://::1:80', /expected ipc|in brackets/],
      ['tcp://[nothost]:80', /not an IPv6 address/],
      ['ipc://', /expected ipc:\/\/<socket path>/],
      [`ipc:///${'x'.repeat(MAX_IPC_PATH_BYTES)}`, /longer than the 107/],
    ];
    for (const [endpoint, message] of bad) {
      expect(() => parseEndpoint(endpoint, { role: 'connect' }), endpoint).toThrow(message);
      try {
        parseEndpoint(endpoint, { role: 'connect' });
      } catch (error) {
        expect(error).toMatchObject({ code: 'troupe:transport-bad-endpoint' });
      }
    }
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.255.0.9', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['128.0.0.1', '::2', '0.0.0.0', 'localhost.example.com'].some(isLoopbackHost)).toBe(false);
  });
});

describe('routing ids', () => {
  it('accepts 1 to 255 bytes not starting with a zero byte', () => {
    expect(() => checkRoutingId('worker-1')).not.toThrow();
    expect(() => checkRoutingId('é'.repeat(127))).not.toThrow();
    for (const bad of ['', '\0worker', 'x'.repeat(256), 'é'.repeat(128)]) {
      expect(() => checkRoutingId(bad)).toThrow(/expected 1 to 255 bytes/);
    }
  });

  it('names text ids by their text and other ids in hex', () => {
    expect(peerIdOf(Buffer.from('worker-7'))).toBe('worker-7');
    expect(peerIdOf(Buffer.from('wörker'))).toBe('wörker');
    expect(peerIdOf(Buffer.from([0, 0x80, 0, 0x41, 0xa7]))).toBe('0x00800041a7');
    expect(peerIdOf(Buffer.from([0xff, 0xfe]))).toBe('0xfffe');
  });
});
