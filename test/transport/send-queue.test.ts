import { describe, expect, it } from 'vitest';

import { SendQueue } from '../../src/transport/send-queue.js';
import { TransportError } from '../../src/transport/transport-error.js';

/** A sink that records each batch, how many sends overlap, and settles each after a macrotask. */
function slowSink(fail: (batch: readonly number[]) => boolean = () => false) {
  const batches: number[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (batch: readonly number[]): Promise<void> => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight -= 1;
    if (fail(batch)) throw Object.assign(new Error('Host unreachable'), { code: 'EHOSTUNREACH' });
    batches.push([...batch]);
  };
  return { send, batches, handed: () => batches.flat(), maxInFlight: () => maxInFlight };
}

describe('SendQueue', () => {
  it('hands frames over one send at a time, in order, batching those queued together', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send, { maxBatchFrames: 100 });
    const frames = Array.from({ length: 2_000 }, (_, i) => i);
    await Promise.all(frames.map((frame) => queue.enqueue(frame)));
    expect(sink.handed()).toEqual(frames);
    expect(sink.maxInFlight()).toBe(1);
    expect(sink.batches.map((batch) => batch.length)).toEqual(Array<number>(20).fill(100));
    expect(queue.length).toBe(0);
  });

  it('batches frames of one key only, keeping each key in order', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send, {}, (frame: number) => frame % 3);
    const frames = Array.from({ length: 30 }, (_, i) => i);
    await Promise.all(frames.map((frame) => queue.enqueue(frame)));
    expect(sink.batches).toEqual([
      [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
      [1, 4, 7, 10, 13, 16, 19, 22, 25, 28],
      [2, 5, 8, 11, 14, 17, 20, 23, 26, 29],
    ]);
  });

  it('waits for the pending send, then takes what was queued meanwhile', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send);
    const first = queue.enqueue(1);
    // Queued in a later loop iteration, while the first send is pending.
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((frame) => queue.enqueue(frame));
    await Promise.all([first, ...later]);
    expect(sink.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects only the batch that failed and goes on with the rest', async () => {
    const sink = slowSink((batch) => batch.includes(2));
    const queue = new SendQueue(sink.send, {}, (frame: number) => (frame % 2 === 0 ? 'even' : 'odd'));
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((frame) => queue.enqueue(frame)));
    // 1 and 3 go together; 2 and 4 fail together.
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
    expect(sink.batches).toEqual([[1, 3]]);
  });

  it('survives a send that throws synchronously', async () => {
    const queue = new SendQueue<number>((batch) => {
      if (batch.includes(1)) throw Object.assign(new Error('busy'), { code: 'EBUSY' });
      return Promise.resolve();
    });
    await expect(queue.enqueue(1)).rejects.toThrow('busy');
    await expect(queue.enqueue(2)).resolves.toBeUndefined();
  });

  it('refuses beyond its bound with a clear error', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send, { maxQueuedMessages: 3 });
    const accepted = [0, 1, 2].map((frame) => queue.enqueue(frame));
    expect(queue.length).toBe(3);
    const refused = queue.enqueue(3);
    await expect(refused).rejects.toMatchObject({ code: 'troupe:transport-queue-full' });
    await expect(refused).rejects.toThrow(/already holds 3 messages/);
    await Promise.all(accepted);
    await expect(queue.enqueue(5)).resolves.toBeUndefined();
  });

  it('rejects what waits, and everything later, once closed', async () => {
    const sink = slowSink();
    const queue = new SendQueue(sink.send);
    const first = queue.enqueue(1);
    await new Promise((resolve) => setImmediate(resolve));
    const pending = [2, 3].map((frame) => queue.enqueue(frame));
    const closed = new TransportError('troupe:transport-closed', 'closed');
    queue.close(closed);
    const outcomes = await Promise.allSettled([first, ...pending]);
    // The first frame was already being handed over; the others never were.
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await expect(queue.enqueue(4)).rejects.toBe(closed);
    expect(sink.handed()).toEqual([1]);
  });

  it('rejects bounds that are not positive integers', () => {
    expect(() => new SendQueue(() => Promise.resolve(), { maxQueuedMessages: 0 })).toThrow(RangeError);
    expect(() => new SendQueue(() => Promise.resolve(), { maxBatchFrames: 1.5 })).toThrow(
      /maxBatchFrames must be a positive integer/,
    );
  });
});
