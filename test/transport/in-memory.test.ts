import { describe, expect, it } from 'vitest';

import { encodeMessage } from '../../src/transport/codec.js';
import type { Envelope } from '../../src/transport/codec.js';
import type { PrimaryEnd, WorkerEnd } from '../../src/transport/ends.js';
import { createInMemoryPair } from '../helpers/in-memory-transport.js';

type ToWorker = { readonly type: 'work'; readonly n: number } | { readonly type: 'stop' };
type FromWorker = { readonly type: 'done'; readonly n: number };

const isToWorker = (message: Envelope): message is ToWorker =>
  message.type === 'work' || message.type === 'stop';

/** A tiny worker core that only knows the interface, as the real one will. */
function echoWorker(end: WorkerEnd<FromWorker, ToWorker>): void {
  end.onMessage((message) => {
    if (message.type === 'work') void end.send({ type: 'done', n: message.n * 2 });
  });
}

describe('createInMemoryPair', () => {
  it('delivers asynchronously and in order, both ways', async () => {
    const { primary, worker } = createInMemoryPair<ToWorker, FromWorker>();
    const primaryEnd: PrimaryEnd<ToWorker, FromWorker> = primary;
    echoWorker(worker);
    const received: number[] = [];
    primaryEnd.onMessage((peerId, message) => {
      expect(peerId).toBe('worker-1');
      received.push(message.n);
    });
    const count = 1_000;
    for (let n = 0; n < count; n++) void primaryEnd.send('worker-1', { type: 'work', n });
    expect(received).toEqual([]);
    await expect.poll(() => received.length === count).toBe(true);
    expect(received).toEqual(Array.from({ length: count }, (_, n) => n * 2));
  });

  it('knows the worker from its hello, before it says anything', async () => {
    const { primary } = createInMemoryPair<ToWorker, FromWorker>({ peerId: 'w-7' });
    const joined: string[] = [];
    primary.onPeerJoined((peerId) => joined.push(peerId));
    expect(primary.peers()).toEqual([]);
    await expect.poll(() => joined.length === 1).toBe(true);
    expect(joined).toEqual(['w-7']);
    expect(primary.peers()).toEqual(['w-7']);
  });

  it('sends a copy: what does not survive msgpack does not survive here', async () => {
    const { primary, worker } = createInMemoryPair<Envelope, Envelope>();
    const original = { type: 'x', when: new Date(0), list: [1, 2] };
    const received: Envelope[] = [];
    worker.onMessage((message) => received.push(message));
    await primary.send('worker-1', original);
    original.list.push(3);
    await expect.poll(() => received.length === 1).toBe(true);
    expect(received[0]).toMatchObject({ type: 'x', list: [1, 2] });
  });

  it('reports a malformed frame and keeps going', async () => {
    const { primary, worker } = createInMemoryPair<ToWorker, FromWorker>({ isWorkerMessage: isToWorker });
    echoWorker(worker);
    const malformed: string[] = [];
    const workerMalformed: string[] = [];
    const received: FromWorker[] = [];
    primary.onMalformed((peerId, reason) => malformed.push(`${peerId}: ${reason}`));
    primary.onMessage((_, message) => received.push(message));
    worker.onMalformed((reason) => workerMalformed.push(reason));
    primary.injectRaw(Buffer.from([0x93, 0x01]));
    worker.injectRaw(encodeMessage({ type: 'unknown-command' }));
    await primary.send('worker-1', { type: 'work', n: 21 });
    await expect
      .poll(() => received.length === 1 && malformed.length === 1 && workerMalformed.length === 1)
      .toBe(true);
    expect(malformed[0]).toMatch(/^worker-1: not msgpack/);
    expect(workerMalformed[0]).toMatch(/refused by the message guard \(type "unknown-command"\)/);
    expect(received).toEqual([{ type: 'done', n: 42 }]);
  });

  it('refuses reserved transport types', async () => {
    const { primary, worker } = createInMemoryPair<Envelope, Envelope>();
    await expect(primary.send('worker-1', { type: 'transport:ping' })).rejects.toMatchObject({
      code: 'troupe:transport-invalid-message',
    });
    await expect(worker.send({ type: 'transport:pong' })).rejects.toMatchObject({
      code: 'troupe:transport-invalid-message',
    });
  });

  it('fails sends to a dropped peer like an unreachable host, and reports it lost once', async () => {
    const { primary, worker, dropPeer } = createInMemoryPair<ToWorker, FromWorker>();
    const lost: string[] = [];
    primary.onPeerLost((peerId, reason) => lost.push(`${peerId}:${reason}`));
    await expect.poll(() => primary.peers().length === 1).toBe(true);
    dropPeer();
    await expect(primary.send('worker-1', { type: 'stop' })).rejects.toMatchObject({
      code: 'troupe:transport-unreachable',
      peerId: 'worker-1',
    });
    await expect(worker.send({ type: 'done', n: 1 })).rejects.toMatchObject({
      code: 'troupe:transport-closed',
    });
    await expect.poll(() => lost.length === 1).toBe(true);
    expect(lost).toEqual(['worker-1:heartbeat']);
    expect(primary.peers()).toEqual([]);
    await expect(primary.send('nobody', { type: 'stop' })).rejects.toMatchObject({
      code: 'troupe:transport-unreachable',
    });
  });

  it('accepts a restarted worker under the same id', async () => {
    const pair = createInMemoryPair<ToWorker, FromWorker>();
    const joined: string[] = [];
    pair.primary.onPeerJoined((peerId) => joined.push(peerId));
    const received: FromWorker[] = [];
    pair.primary.onMessage((_, message) => received.push(message));
    await expect.poll(() => joined.length === 1).toBe(true);
    pair.dropPeer();
    const restarted = pair.restartPeer();
    echoWorker(restarted);
    await expect.poll(() => joined.length === 2).toBe(true);
    expect(pair.primary.peers()).toEqual(['worker-1']);
    await pair.primary.send('worker-1', { type: 'work', n: 5 });
    await expect.poll(() => received.length === 1).toBe(true);
    expect(received).toEqual([{ type: 'done', n: 10 }]);
    await expect(pair.worker.send({ type: 'done', n: 0 })).rejects.toMatchObject({
      code: 'troupe:transport-closed',
    });
  });

  it('rejects sends after close', async () => {
    const { primary, worker } = createInMemoryPair<ToWorker, FromWorker>();
    await primary.close();
    await worker.close();
    await expect(primary.send('worker-1', { type: 'stop' })).rejects.toMatchObject({
      code: 'troupe:transport-closed',
    });
    await expect(worker.send({ type: 'done', n: 1 })).rejects.toMatchObject({
      code: 'troupe:transport-closed',
    });
  });
});
