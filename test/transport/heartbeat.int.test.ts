import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { RouterTransport } from '../../src/transport/router.js';
import { Closer, countHeartbeatTicks, privateIpcEndpoint } from './helpers.js';

type ToWorker = { readonly type: 'echo'; readonly n: number };
type FromWorker = { readonly type: 'echoed'; readonly n: number };

const WORKER_SCRIPT = fileURLToPath(new URL('./fixtures/ping-worker.mjs', import.meta.url));
const HEARTBEAT_INTERVAL_MS = 100;
// A peer is lost after a second without a pong: a busy machine may stall either process for a few hundred ms.
const HEARTBEAT_MISSES = 10;
/** Generous: this bounds the wait, it does not assert the timing. */
const LOSS_WAIT_MS = 15_000;
/** Echoes sent one after another to the worker process. */
const ROUND_TRIPS = 500;

const closer = new Closer();
afterEach(() => closer.closeAll());

/** Starts the fixture worker; the cleanup resumes and kills it. */
function startWorker(endpoint: string, routingId: string): ChildProcess {
  const child = spawn(process.execPath, [WORKER_SCRIPT, endpoint, routingId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  closer.defer(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
  return child;
}

describe('heartbeats with a worker process', () => {
  for (const kind of ['ipc', 'tcp'] as const) {
    it(`report a stopped worker lost and a resumed one alive again (${kind})`, async () => {
      const ticks = countHeartbeatTicks(closer);
      const endpoint = kind === 'ipc' ? await privateIpcEndpoint(closer, 'primary') : 'tcp://127.0.0.1:0';
      const router = closer.add(
        await RouterTransport.bind<ToWorker, FromWorker>(endpoint, {
          heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
          heartbeatMisses: HEARTBEAT_MISSES,
        }),
      );
      const joined: string[] = [];
      const lost: string[] = [];
      const echoed: number[] = [];
      router.onPeerJoined((peerId) => joined.push(peerId));
      router.onPeerLost((peerId, reason) => lost.push(`${peerId}:${reason}`));
      router.onMessage((_, message) => echoed.push(message.n));

      const child = startWorker(router.endpoint, 'worker-1');
      await expect
        .poll(() => joined.length === 1, { timeout: LOSS_WAIT_MS, message: 'the worker to say hello' })
        .toBe(true);

      // Alive across twice the heartbeats it may miss, while it answers pings.
      const ticksAtJoin = ticks();
      await expect
        .poll(() => ticks() - ticksAtJoin, { timeout: LOSS_WAIT_MS, message: 'heartbeats to pass' })
        .toBeGreaterThanOrEqual(2 * HEARTBEAT_MISSES);
      expect(lost).toEqual([]);

      // Round trips to another process, one at a time: each echo comes back, in order.
      let echoArrived: (() => void) | undefined;
      router.onMessage(() => echoArrived?.());
      for (let n = 0; n < ROUND_TRIPS; n++) {
        const arrived = new Promise<void>((resolve) => (echoArrived = resolve));
        await router.send('worker-1', { type: 'echo', n });
        await arrived;
      }
      expect(echoed).toEqual(Array.from({ length: ROUND_TRIPS }, (_, n) => n));

      child.kill('SIGSTOP');
      await expect
        .poll(() => lost.length === 1, {
          timeout: LOSS_WAIT_MS,
          message: 'the stopped worker to be reported lost',
        })
        .toBe(true);
      expect(lost).toEqual(['worker-1:heartbeat']);
      expect(router.peers()).toEqual([]);

      // Sends to a stopped peer are still accepted: ZeroMQ buffers them for the open connection.
      await router.send('worker-1', { type: 'echo', n: 1_000 });
      child.kill('SIGCONT');
      await expect
        .poll(() => joined.length === 2, {
          timeout: LOSS_WAIT_MS,
          message: 'the resumed worker to be alive again',
        })
        .toBe(true);
      expect(router.peers()).toEqual(['worker-1']);
      await expect
        .poll(() => echoed.includes(1_000), {
          timeout: LOSS_WAIT_MS,
          message: 'the echo sent while it was stopped',
        })
        .toBe(true);
      await router.send('worker-1', { type: 'echo', n: 1_001 });
      await expect
        .poll(() => echoed.includes(1_001), { timeout: LOSS_WAIT_MS, message: 'a new echo' })
        .toBe(true);
      expect(lost).toEqual(['worker-1:heartbeat']);
    });
  }

  it('reports a killed worker lost, and accepts its replacement under the same id', async () => {
    const router = closer.add(
      await RouterTransport.bind<ToWorker, FromWorker>('tcp://127.0.0.1:0', {
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        heartbeatMisses: HEARTBEAT_MISSES,
      }),
    );
    const joined: string[] = [];
    const lost: string[] = [];
    const echoed: number[] = [];
    router.onPeerJoined((peerId) => joined.push(peerId));
    router.onPeerLost((peerId) => lost.push(peerId));
    router.onMessage((_, message) => echoed.push(message.n));

    const first = startWorker(router.endpoint, 'worker-1');
    await expect
      .poll(() => joined.length === 1, { timeout: LOSS_WAIT_MS, message: 'the first worker' })
      .toBe(true);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    await expect
      .poll(() => lost.length === 1, {
        timeout: LOSS_WAIT_MS,
        message: 'the killed worker to be reported lost',
      })
      .toBe(true);
    await expect(router.send('worker-1', { type: 'echo', n: 0 })).rejects.toMatchObject({
      code: 'troupe:transport-unreachable',
    });

    startWorker(router.endpoint, 'worker-1');
    await expect
      .poll(() => joined.length === 2, { timeout: LOSS_WAIT_MS, message: 'the replacement' })
      .toBe(true);
    await router.send('worker-1', { type: 'echo', n: 7 });
    await expect
      .poll(() => echoed.includes(7), { timeout: LOSS_WAIT_MS, message: 'the replacement to answer' })
      .toBe(true);
  });
});
