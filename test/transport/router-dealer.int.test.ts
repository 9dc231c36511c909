import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';

import type { Envelope } from '../../src/transport/codec.js';
import { DealerTransport } from '../../src/transport/dealer.js';
import { RECEIVE_BUDGET_MS } from '../../src/transport/receive-loop.js';
import { RouterTransport } from '../../src/transport/router.js';
import type { RouterOptions } from '../../src/transport/router.js';
import { Closer, countHeartbeatTicks, privateIpcEndpoint } from './helpers.js';

type ToWorker = { readonly type: 'seq'; readonly n: number } | { readonly type: 'echo'; readonly n: number };
type FromWorker =
  { readonly type: 'seq'; readonly n: number } | { readonly type: 'echoed'; readonly n: number };

/** Short enough to keep the tests fast, long enough for a loaded machine to hand a frame over. */
const SEND_TIMEOUT_MS = 300;
/** A send timeout no test waits out: a send that fails while one with it is pending failed by its own. */
const LONG_SEND_TIMEOUT_MS = 120_000;
const MESSAGES_EACH_WAY = 10_000;
const DEALERS = 3;

const closer = new Closer();
afterEach(() => closer.closeAll());

async function bindRouter(
  endpoint: string,
  options: RouterOptions<FromWorker> = {},
): Promise<RouterTransport<ToWorker, FromWorker>> {
  return closer.add(
    await RouterTransport.bind<ToWorker, FromWorker>(endpoint, {
      sendTimeoutMs: SEND_TIMEOUT_MS,
      ...options,
    }),
  );
}

async function connectDealer(
  endpoint: string,
  routingId: string,
): Promise<DealerTransport<FromWorker, ToWorker>> {
  return closer.add(
    await DealerTransport.connect<FromWorker, ToWorker>(endpoint, {
      routingId,
      sendTimeoutMs: SEND_TIMEOUT_MS,
    }),
  );
}

/** Dealers that answer `echo` with `echoed` and are known to the router. */
async function connectEchoDealers(
  router: RouterTransport<ToWorker, FromWorker>,
  ids: readonly string[],
): Promise<DealerTransport<FromWorker, ToWorker>[]> {
  const dealers = await Promise.all(ids.map((id) => connectDealer(router.endpoint, id)));
  for (const dealer of dealers) {
    dealer.onMessage((message) => {
      if (message.type === 'echo') void dealer.send({ type: 'echoed', n: message.n });
    });
  }
  await expect
    .poll(() => ids.every((id) => router.peers().includes(id)), { message: 'every dealer to be known' })
    .toBe(true);
  return dealers;
}

async function endpoints(): Promise<[string, string][]> {
  return [
    ['ipc', await privateIpcEndpoint(closer, 'primary')],
    ['tcp', 'tcp://127.0.0.1:0'],
  ];
}

describe('RouterTransport and DealerTransport', () => {
  for (const kind of ['ipc', 'tcp'] as const) {
    it(`keep order for ${MESSAGES_EACH_WAY} messages each way with ${DEALERS} dealers over ${kind}`, async () => {
      const endpoint = (await endpoints()).find(([k]) => k === kind)?.[1] ?? '';
      const router = await bindRouter(endpoint);
      if (kind === 'tcp') expect(router.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
      const ids = Array.from({ length: DEALERS }, (_, i) => `worker-${i + 1}`);
      const dealers = await Promise.all(ids.map((id) => connectDealer(router.endpoint, id)));

      const atRouter = new Map(ids.map((id) => [id, [] as number[]]));
      router.onMessage((peerId, message) => atRouter.get(peerId)?.push(message.n));
      const atDealers = dealers.map((dealer) => {
        const received: number[] = [];
        dealer.onMessage((message) => received.push(message.n));
        return received;
      });
      const malformed: string[] = [];
      router.onMalformed((_, reason) => malformed.push(reason));
      await expect
        .poll(() => router.peers().length === DEALERS, { message: 'every dealer to be known' })
        .toBe(true);

      const started = performance.now();
      const sends: Promise<void>[] = [];
      for (let n = 0; n < MESSAGES_EACH_WAY; n++) {
        for (const [i, dealer] of dealers.entries()) {
          sends.push(router.send(ids[i] ?? '', { type: 'seq', n }));
          sends.push(dealer.send({ type: 'seq', n }));
        }
      }
      await Promise.all(sends);
      const total = MESSAGES_EACH_WAY * DEALERS;
      const count = (lists: Iterable<number[]>): number =>
        [...lists].reduce((sum, list) => sum + list.length, 0);
      await expect
        .poll(() => count(atRouter.values()) === total && count(atDealers) === total, {
          timeout: 30_000,
          message: 'every message',
        })
        .toBe(true);
      const elapsedMs = performance.now() - started;

      const expected = Array.from({ length: MESSAGES_EACH_WAY }, (_, n) => n);
      for (const list of atRouter.values()) expect(list).toEqual(expected);
      for (const list of atDealers) expect(list).toEqual(expected);
      expect(malformed).toEqual([]);
      console.info(`${kind}: ${2 * total} messages in ${elapsedMs.toFixed(0)} ms`);
    });
  }

  it('takes 5 000 sends back to back without awaiting, without EBUSY', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0');
    const [dealer] = await connectEchoDealers(router, ['worker-1']);
    const echoed: number[] = [];
    router.onMessage((_, message) => echoed.push(message.n));
    const backToBack = 5_000;
    const routerSends = Array.from({ length: backToBack }, (_, n) =>
      router.send('worker-1', { type: 'echo', n }),
    );
    const dealerSends = Array.from({ length: backToBack }, (_, n) => dealer?.send({ type: 'seq', n: -n }));
    const outcomes = await Promise.allSettled([...routerSends, ...dealerSends]);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    await expect
      .poll(() => echoed.length === 2 * backToBack, { timeout: 30_000, message: 'every echo' })
      .toBe(true);
  });

  it('carries the messages queued together in few ZeroMQ messages, in order', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0');
    const raw = closer.add(new Dealer({ routingId: 'raw', linger: 0 }));
    raw.connect(router.endpoint);
    const packr = new Packr({ useRecords: false });
    await raw.send(packr.pack({ type: 'seq', n: 0 }));
    await expect
      .poll(() => router.peers().includes('raw'), { message: 'the raw dealer to be known' })
      .toBe(true);
    const burst = 1_000;
    const sends = Array.from({ length: burst }, (_, n) => router.send('raw', { type: 'echo', n }));
    const bodies: unknown[] = [];
    let zeromqMessages = 0;
    while (bodies.length < burst) {
      const frames = await raw.receive();
      zeromqMessages += 1;
      bodies.push(...frames.flatMap((frame) => packr.unpackMultiple(frame) as unknown[]));
    }
    await Promise.all(sends);
    expect(bodies).toEqual(Array.from({ length: burst }, (_, n) => ({ type: 'echo', n })));
    // Batches of at most 256, each one frame of messages back to back.
    expect(zeromqMessages).toBeGreaterThanOrEqual(Math.ceil(burst / 256));
    expect(zeromqMessages).toBeLessThan(burst / 10);
  });

  it('lets the event loop turn once handling the queued ZeroMQ messages took its budget', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0');
    const events: string[] = [];
    router.onMessage((_, message) => {
      events.push(`message ${String(message.n)}`);
      setImmediate(() => events.push('turn'));
      // Each message takes the whole budget: the loop must turn after each.
      const until = performance.now() + RECEIVE_BUDGET_MS;
      while (performance.now() < until);
    });
    const raw = closer.add(new Dealer({ routingId: 'raw', linger: 0 }));
    raw.connect(router.endpoint);
    const packr = new Packr({ useRecords: false });
    const count = 20;
    for (let n = 0; n < count; n += 1) await raw.send(packr.pack({ type: 'seq', n }));
    // Held busy, the router cannot read: the messages queue up at its socket.
    const until = performance.now() + 50;
    while (performance.now() < until);
    await expect
      .poll(() => events.filter((e) => e === 'turn').length === count, {
        message: 'every message and its turn',
      })
      .toBe(true);
    const expected = Array.from({ length: count }, (_, n) => [`message ${n}`, 'turn']).flat();
    expect(events).toEqual(expected);
  });

  it('answers 1 000 round trips one after the other, each with its own message (and times them)', async () => {
    for (const [kind, endpoint] of await endpoints()) {
      const router = await bindRouter(endpoint);
      await connectEchoDealers(router, ['worker-1']);
      let resolveEcho: ((message: FromWorker) => void) | undefined;
      router.onMessage((_, message) => resolveEcho?.(message));
      const samplesUs: number[] = [];
      const roundTrips = 1_000;
      for (let n = 0; n < roundTrips; n++) {
        const started = performance.now();
        const echoed = new Promise<FromWorker>((resolve) => (resolveEcho = resolve));
        await router.send('worker-1', { type: 'echo', n });
        // Each answer is the echo of the message just sent: none lost, repeated or reordered.
        expect(await echoed).toEqual({ type: 'echoed', n });
        samplesUs.push((performance.now() - started) * 1_000);
      }
      samplesUs.sort((a, b) => a - b);
      const at = (q: number): string => (samplesUs[Math.floor(q * (samplesUs.length - 1))] ?? NaN).toFixed(0);
      console.info(`${kind} round trip: p50 ${at(0.5)} µs, p99 ${at(0.99)} µs`);
      await router.close();
    }
  });

  it('rejects a send to a closed dealer, without blocking other peers', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0');
    const [gone, staying] = await connectEchoDealers(router, ['gone', 'staying']);
    const echoed: number[] = [];
    router.onMessage((peerId, message) => {
      if (peerId === 'staying') echoed.push(message.n);
    });
    await gone?.close();

    // The router learns of the disconnect asynchronously; until then a send may still be accepted.
    let failure: unknown;
    for (let attempt = 0; attempt < 100 && failure === undefined; attempt++) {
      failure = await router.send('gone', { type: 'echo', n: attempt }).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (failure === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(failure).toMatchObject({ peerId: 'gone' });
    expect(['troupe:transport-unreachable', 'troupe:transport-send-timeout']).toContain(
      (failure as { code: string }).code,
    );

    // Queued behind sends to the dead peer, sends to a live one still go through.
    const toDead = Array.from({ length: 10 }, (_, n) => router.send('gone', { type: 'echo', n }));
    const toLive = Array.from({ length: 10 }, (_, n) => router.send('staying', { type: 'echo', n }));
    const dead = await Promise.allSettled(toDead);
    expect(dead.every((outcome) => outcome.status === 'rejected')).toBe(true);
    await Promise.all(toLive);
    await expect.poll(() => echoed.length === 10, { message: 'the live peer to answer' }).toBe(true);
    expect(echoed).toEqual(Array.from({ length: 10 }, (_, n) => n));
    expect(staying).toBeDefined();
  });

  it('rejects a send when no peer is connected at all, after its own send timeout', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0');
    const patient = await bindRouter('tcp://127.0.0.1:0', { sendTimeoutMs: LONG_SEND_TIMEOUT_MS });
    let patientSettled = false;
    const patientSend = patient.send('nobody', { type: 'echo', n: 1 }).then(
      () => (patientSettled = true),
      (error: unknown) => {
        patientSettled = true;
        return error;
      },
    );
    await expect(router.send('nobody', { type: 'echo', n: 1 })).rejects.toMatchObject({
      code: 'troupe:transport-unreachable',
      peerId: 'nobody',
    });
    // The same send with a longer timeout still waits: what ended the first was its timeout.
    expect(patientSettled).toBe(false);
    await patient.close();
    expect(await patientSend).toMatchObject({ code: 'troupe:transport-closed' });
  });

  it('reports malformed frames from a raw DEALER, drops them, and keeps working', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0', {
      isMessage: (message: Envelope): message is FromWorker =>
        message.type === 'seq' || message.type === 'echoed',
    });
    const malformed: [string, string][] = [];
    router.onMalformed((peerId, reason) => malformed.push([peerId, reason]));
    const received: [string, FromWorker][] = [];
    router.onMessage((peerId, message) => received.push([peerId, message]));

    const raw = closer.add(new Dealer({ routingId: 'raw', linger: 0 }));
    raw.connect(router.endpoint);
    const packr = new Packr({ useRecords: false });
    const garbage: (Buffer | Buffer[])[] = [
      Buffer.from('not msgpack at all'),
      Buffer.from([0x93, 0x01]),
      packr.pack([1, 2, 3]),
      packr.pack({ no: 'type' }),
      packr.pack({ type: 'not-in-the-protocol' }),
      packr.pack({ type: 'transport:ping', seq: 1 }),
      packr.pack({ type: 'transport:pong' }),
      // Several body frames are several messages: the good one is delivered, the bad one dropped.
      [packr.pack({ type: 'seq', n: 1 }), Buffer.from('second frame')],
      Buffer.alloc(0),
    ];
    for (const frames of garbage) await raw.send(frames);
    await raw.send(packr.pack({ type: 'seq', n: 99 }));

    const anonymous = closer.add(new Dealer({ linger: 0 }));
    anonymous.connect(router.endpoint);
    await anonymous.send(Buffer.from([0xc1]));

    await expect
      .poll(() => malformed.length === garbage.length + 1 && received.length === 2, {
        message: 'every frame',
      })
      .toBe(true);
    const fromRaw = malformed.filter(([peerId]) => peerId === 'raw').map(([, reason]) => reason);
    expect(fromRaw).toEqual([
      // Text reads as msgpack numbers ('n' is 110): not an envelope, and the frame ends there.
      'expected a map with a string "type", got number 110',
      expect.stringMatching(/^not msgpack/),
      expect.stringMatching(/got an array/),
      expect.stringMatching(/non-empty string "type"/),
      expect.stringMatching(/refused by the message guard/),
      'a transport:ping sent to the primary',
      'transport:pong without an integer "seq"',
      'expected a map with a string "type", got number 115',
      'empty frame',
    ]);
    // A peer without a routing id gets five bytes from ZeroMQ, the first zero: named in hex.
    const fromAnonymous = malformed.filter(([peerId]) => peerId !== 'raw');
    expect(fromAnonymous).toEqual([[expect.stringMatching(/^0x00[0-9a-f]{8}$/), expect.any(String)]]);
    expect(received).toEqual([
      ['raw', { type: 'seq', n: 1 }],
      ['raw', { type: 'seq', n: 99 }],
    ]);

    // Malformed frames do not make a peer known; the valid message did.
    expect(router.peers()).toEqual(['raw']);
    await router.send('raw', { type: 'echo', n: 7 });
    const [reply] = await raw.receive();
    expect(packr.unpack(reply as Buffer)).toEqual({ type: 'echo', n: 7 });
  });

  it('accepts a restarted dealer reusing the routing id (handover) and delivers to it', async () => {
    const router = await bindRouter('tcp://127.0.0.1:0');
    const joined: string[] = [];
    router.onPeerJoined((peerId) => joined.push(peerId));
    const first = await connectDealer(router.endpoint, 'worker-1');
    await expect.poll(() => joined.length === 1, { message: 'the first connection' }).toBe(true);

    // The old connection is still open when its successor connects, as after a hung worker is replaced.
    const second = await connectDealer(router.endpoint, 'worker-1');
    await expect.poll(() => joined.length === 2, { message: 'the second connection' }).toBe(true);
    expect(joined).toEqual(['worker-1', 'worker-1']);
    expect(router.peers()).toEqual(['worker-1']);

    const atFirst: number[] = [];
    const atSecond: number[] = [];
    first.onMessage((message) => atFirst.push(message.n));
    second.onMessage((message) => atSecond.push(message.n));
    for (let n = 0; n < 5; n++) await router.send('worker-1', { type: 'seq', n });
    await expect.poll(() => atSecond.length === 5, { message: 'the successor to receive' }).toBe(true);
    expect(atSecond).toEqual([0, 1, 2, 3, 4]);
    expect(atFirst).toEqual([]);

    // And again after the old one is gone for good.
    await first.close();
    await second.close();
    const third = await connectDealer(router.endpoint, 'worker-1');
    const atThird: number[] = [];
    third.onMessage((message) => atThird.push(message.n));
    await expect.poll(() => joined.length === 3, { message: 'the third connection' }).toBe(true);
    await router.send('worker-1', { type: 'seq', n: 42 });
    await expect.poll(() => atThird.length === 1, { message: 'the third to receive' }).toBe(true);
  });

  it('keeps answering dealers alive and reports a closed one lost, once', async () => {
    // A peer is lost after a second without a pong: a machine busy with other suites may stall this
    // process (router and dealers alike) for a few hundred ms without losing anyone.
    const heartbeatIntervalMs = 100;
    const heartbeatMisses = 10;
    const ticks = countHeartbeatTicks(closer);
    const router = await bindRouter('tcp://127.0.0.1:0', { heartbeatIntervalMs, heartbeatMisses });
    const lost: string[] = [];
    router.onPeerLost((peerId, reason) => lost.push(`${peerId}:${reason}`));
    const [, closing] = await connectEchoDealers(router, ['quiet', 'closing']);

    // Silence from the application for twice the heartbeats a peer may miss: only the automatic
    // pongs keep them alive.
    const ticksAtJoin = ticks();
    await expect
      .poll(() => ticks() - ticksAtJoin, { message: 'heartbeats to pass' })
      .toBeGreaterThanOrEqual(2 * heartbeatMisses);
    expect(lost).toEqual([]);
    expect([...router.peers()].sort()).toEqual(['closing', 'quiet']);

    await closing?.close();
    await expect.poll(() => lost.length > 0, { message: 'the closed dealer to be lost' }).toBe(true);
    const ticksAtLoss = ticks();
    await expect
      .poll(() => ticks() - ticksAtLoss, { message: 'heartbeats to pass' })
      .toBeGreaterThanOrEqual(5);
    expect(lost).toEqual(['closing:heartbeat']);
    expect(router.peers()).toEqual(['quiet']);
  });

  it('refuses to send reserved types and to work after close', async () => {
    const router = await RouterTransport.bind<Envelope, Envelope>('tcp://127.0.0.1:0', {
      sendTimeoutMs: SEND_TIMEOUT_MS,
    });
    const dealer = await DealerTransport.connect<Envelope, Envelope>(router.endpoint, { routingId: 'w' });
    await expect(router.send('w', { type: 'transport:ping' })).rejects.toMatchObject({
      code: 'troupe:transport-invalid-message',
    });
    await expect(dealer.send({ type: 'transport:hello' })).rejects.toMatchObject({
      code: 'troupe:transport-invalid-message',
    });
    await dealer.close();
    await router.close();
    await router.close();
    await expect(router.send('w', { type: 'x' })).rejects.toMatchObject({ code: 'troupe:transport-closed' });
    await expect(dealer.send({ type: 'x' })).rejects.toMatchObject({ code: 'troupe:transport-closed' });
  });

  it('removes its ipc socket file on close, but not one another router bound since', async () => {
    const endpoint = await privateIpcEndpoint(closer, 'primary');
    const path = endpoint.slice('ipc://'.length);
    const first = await bindRouter(endpoint);
    expect(existsSync(path)).toBe(true);
    await first.close();
    expect(existsSync(path)).toBe(false);

    const stale = await bindRouter(endpoint);
    const current = await bindRouter(endpoint);
    await stale.close();
    expect(existsSync(path)).toBe(true);
    const dealer = await connectDealer(current.endpoint, 'worker-1');
    await expect
      .poll(() => current.peers().includes('worker-1'), { message: 'the current router to hear the dealer' })
      .toBe(true);
    await dealer.close();
    await current.close();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses bad endpoints and routing ids with their codes', async () => {
    await expect(RouterTransport.bind('tcp://0.0.0.0:0')).rejects.toMatchObject({
      code: 'troupe:transport-bad-endpoint',
    });
    await expect(RouterTransport.bind('ipc:///no/such/directory/primary.sock')).rejects.toMatchObject({
      code: 'troupe:transport-bind-failed',
    });
    const router = await bindRouter('tcp://127.0.0.1:0');
    await expect(RouterTransport.bind(router.endpoint)).rejects.toMatchObject({
      code: 'troupe:transport-bind-failed',
    });
    await expect(DealerTransport.connect(router.endpoint, { routingId: '' })).rejects.toMatchObject({
      code: 'troupe:transport-bad-routing-id',
    });
    // Bad options are refused before a socket exists (a leaked socket would keep vitest running).
    await expect(RouterTransport.bind('tcp://127.0.0.1:0', { maxQueuedMessages: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(RouterTransport.bind('tcp://127.0.0.1:0', { heartbeatMisses: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(RouterTransport.bind('tcp://127.0.0.1:0', { heartbeatIntervalMs: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(
      DealerTransport.connect(router.endpoint, { routingId: 'w', maxQueuedMessages: -1 }),
    ).rejects.toThrow(RangeError);
  });
});
