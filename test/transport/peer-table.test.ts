import { describe, expect, it } from 'vitest';

import { PeerTable } from '../../src/transport/peer-table.js';

/** A tick whose pings are all handed over at once. */
function tickAndSend(table: PeerTable) {
  const result = table.tick();
  for (const peerId of result.ping) table.pingSent(peerId);
  return result;
}

describe('PeerTable', () => {
  it('knows a peer from its first message and reports the join once', () => {
    const table = new PeerTable(3);
    expect(table.heard('w1', false)).toBe(true);
    expect(table.heard('w1', false)).toBe(false);
    expect(table.alive()).toEqual(['w1']);
  });

  it('reports a join for every hello (a reconnected or restarted worker)', () => {
    const table = new PeerTable(3);
    expect(table.heard('w1', true)).toBe(true);
    expect(table.heard('w1', true)).toBe(true);
  });

  it('loses a peer after heartbeatMisses unanswered pings, once', () => {
    const table = new PeerTable(3);
    table.heard('w1', true);
    expect(tickAndSend(table)).toEqual({ ping: ['w1'], lost: [] });
    expect(tickAndSend(table)).toEqual({ ping: ['w1'], lost: [] });
    expect(tickAndSend(table)).toEqual({ ping: ['w1'], lost: [] });
    expect(tickAndSend(table)).toEqual({ ping: [], lost: ['w1'] });
    expect(tickAndSend(table)).toEqual({ ping: [], lost: [] });
    expect(table.alive()).toEqual([]);
    expect(table.isAlive('w1')).toBe(false);
  });

  it('keeps a peer that answers, and counts any message as an answer', () => {
    const table = new PeerTable(2);
    table.heard('w1', true);
    for (let beat = 0; beat < 10; beat++) {
      expect(tickAndSend(table).lost).toEqual([]);
      table.heard('w1', beat % 2 === 0);
    }
    expect(table.alive()).toEqual(['w1']);
  });

  it('does not count a ping still waiting in the send queue as missed', () => {
    const table = new PeerTable(1);
    table.heard('w1', true);
    expect(table.tick().ping).toEqual(['w1']);
    // Never handed over: the primary is backed up, the peer is not at fault.
    for (let beat = 0; beat < 5; beat++) expect(table.tick()).toEqual({ ping: [], lost: [] });
    table.pingSent('w1');
    expect(table.tick().lost).toEqual(['w1']);
  });

  it('makes a lost peer alive again with its next message', () => {
    const table = new PeerTable(1);
    table.heard('w1', true);
    tickAndSend(table);
    expect(tickAndSend(table).lost).toEqual(['w1']);
    expect(table.heard('w1', false)).toBe(true);
    expect(table.alive()).toEqual(['w1']);
    expect(tickAndSend(table)).toEqual({ ping: ['w1'], lost: [] });
  });

  it('tracks peers independently', () => {
    const table = new PeerTable(2);
    table.heard('w1', true);
    table.heard('w2', true);
    tickAndSend(table);
    table.heard('w2', false);
    tickAndSend(table);
    table.heard('w2', false);
    expect(tickAndSend(table).lost).toEqual(['w1']);
    expect(table.alive()).toEqual(['w2']);
  });

  it('rejects a miss count that is not a positive integer', () => {
    expect(() => new PeerTable(0)).toThrow(RangeError);
  });
});
