import { describe, expect, it } from 'vitest';

import { SendQueue } from '../../src/transport/send-queue.js';
import { TransportError } from '../../src/transport/transport-error.js';

/** A sink that records how many sends overlap and settles each after a macrotask. */
function slowSink(fail: (frame: number) => boolean = () => false) {
  const handed: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (frame: number): Promise<void> => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight -= 1;
    if (fail(frame)) throw Object.assign(new Error('Host unreachable'), { code: 'EHOSTUNREACH' });
    handed.push(frame);
  };
  return { send, handed, maxInFlight: () => maxInFlight };
}

describe('SendQueue', () => {
  it('hands frames over one at a time, in order', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send);
    const frames = Array.from({ length: 2_000 }, (_, i) => i);
    await Promise.all(frames.map((frame) => queue.enqueue(frame)));
    expect(sink.handed).toEqual(frames);
    expect(sink.maxInFlight()).toBe(1);
    expect(queue.length).toBe(0);
  });

  it('rejects only the frame that failed and goes on with the rest', async () => {
    const sink = slowSink((frame) => frame === 2);
    const queue = new SendQueue(sink.send);
    const outcomes = await Promise.allSettled([1, 2, 3].map((frame) => queue.enqueue(frame)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(sink.handed).toEqual([1, 3]);
  });

  it('survives a send that throws synchronously', async () => {
    const queue = new SendQueue<number>((frame) => {
      if (frame === 1) throw Object.assign(new Error('busy'), { code: 'EBUSY' });
      return Promise.resolve();
    });
    await expect(queue.enqueue(1)).rejects.toThrow('busy');
    await expect(queue.enqueue(2)).resolves.toBeUndefined();
  });

  it('refuses beyond its bound with a clear error', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send, { maxQueuedMessages: 3 });
    // The first frame leaves the queue at once to be handed over; three more fill it.
    const accepted = [0, 1, 2, 3].map((frame) => queue.enqueue(frame));
    const refused = queue.enqueue(4);
    await expect(refused).rejects.toMatchObject({ code: 'troupe:transport-queue-full' });
    await expect(refused).rejects.toThrow(/already holds 3 messages/);
    await Promise.all(accepted);
    await expect(queue.enqueue(5)).resolves.toBeUndefined();
  });

  it('rejects what waits, and everything later, once closed', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send);
    const pending = [1, 2, 3].map((frame) => queue.enqueue(frame));
    const closed = new TransportError('troupe:transport-closed', 'closed');
    queue.close(closed);
    const outcomes = await Promise.allSettled(pending);
    // The first frame was already being handed over; the others never were.
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await expect(queue.enqueue(4)).rejects.toBe(closed);
    expect(sink.handed).toEqual([1]);
  });

  it('rejects a bound that is not a positive integer', () => {
    expect(() => new SendQueue(() => Promise.resolve(), { maxQueuedMessages: 0 })).toThrow(RangeError);
  });
});
