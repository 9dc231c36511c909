import { describe, expect, it } from 'vitest';
import type { SharedKeyReport } from '../../src/coordination/registry.js';
import { sharedKeyView } from '../../src/coordination/shared-view.js';
import { sharedKeyLines } from '../../src/cli/shared-key-text.js';
import { MAX_PARTICIPANT_SERIES, PrometheusMetrics } from '../../src/metrics/prometheus.js';
import { sharedKeySample } from '../../src/coordination/shared-metrics.js';
import type { SharedKeyView } from '../../src/coordination/shared-view.js';

function sampleOnce(metrics: PrometheusMetrics, view: SharedKeyView): void {
  metrics.setSharedKeys([sharedKeySample(view)]);
}

const local = {
  key: 'org-openai',
  url: 'redis://10.0.0.5:6379/0',
  participant: 'host-a:100:1',
  reachable: true,
  requestsPerMinute: 600,
  participants: 2,
  slots: 3,
  calls: 10,
  stateLosses: 0,
} as const;

function participant(host: string, pid: number, requests: number, slots = 1) {
  return {
    id: `${host}:${pid}:1`,
    info: { host, pid, provider: 'openai', jobs: [`job-${pid}`] },
    slots,
    requests,
    tokens: requests * 10,
  };
}

const report: SharedKeyReport = {
  provider: 'openai',
  local,
  store: {
    now: 1_000,
    requestsPerMinute: 600,
    tokensPerMinute: 0,
    maxConcurrency: 8,
    requests: 450,
    tokens: 4_500,
    pauseUntil: 0,
    pauseReason: '',
    learned: {},
    participants: [participant('host-a', 100, 300, 6), participant('host-b', 200, 150, 2)],
  },
};

describe('a shared key as status and the metrics show it', () => {
  it('names each participant (host, pid, jobs) with its share of the budget in force', () => {
    const view = sharedKeyView(report);
    expect(view.budget).toEqual({ requestsPerMinute: 600, maxConcurrency: 8 });
    expect(view.participants).toEqual([
      expect.objectContaining({
        process: 'host-a:100',
        host: 'host-a',
        pid: 100,
        jobs: ['job-100'],
        self: true,
        share: { requests: 0.5, slots: 0.75 },
      }),
      expect.objectContaining({ process: 'host-b:200', self: false, share: { requests: 0.25, slots: 0.25 } }),
    ]);
    const text = sharedKeyLines(view).join('\n');
    expect(text).toContain('shared limits org-openai (provider openai, store redis://10.0.0.5:6379/0)');
    expect(text).toContain('600 requests/min, 8 at once; 2 participants');
    expect(text).toMatch(/host-a:100 \(this daemon\)\s+job-100\s+300 \(50%\)/);
    expect(text).toMatch(/host-b:200\s+job-200\s+150 \(25%\)/);
  });

  it('shows what the headers taught: each learned bucket in force, the dialect, the rates announced', async () => {
    const learned: SharedKeyReport = {
      ...report,
      local: { ...local, dialect: 'openai', announced: { requestsPerMinute: 500 } },
      store: {
        ...report.store!,
        now: Date.parse('2026-12-03T12:00:00.000Z'),
        learned: {
          requests: { remaining: 2.9999999, limit: 10, resetAt: Date.parse('2026-12-03T12:00:04.200Z') },
          tokens: { remaining: 1_200.5, resetAt: Date.parse('2026-12-03T12:00:30.000Z') },
        },
      },
    };
    const view = sharedKeyView(learned);
    expect(view.learned).toEqual({
      dialect: 'openai',
      announced: { requestsPerMinute: 500 },
      requests: { remaining: 3, limit: 10, resetAt: '2026-12-03T12:00:04.200Z', resetInMs: 4_200 },
      tokens: { remaining: 1_200, resetAt: '2026-12-03T12:00:30.000Z', resetInMs: 30_000 },
    });
    expect(sharedKeyLines(view)[1]).toBe(
      '  learned from headers (openai dialect): requests 3 of 10 left, full again at 12:00:04 UTC (in 5 s); ' +
        'tokens 1200 left, full again at 12:00:30 UTC (in 30 s); announced 500 requests/min',
    );
    // Nothing learned yet: the dialect alone, said plainly.
    expect(sharedKeyLines(sharedKeyView({ ...report, local: { ...local, dialect: 'anthropic' } }))[1]).toBe(
      '  learned from headers (anthropic dialect): nothing in force',
    );
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    sampleOnce(metrics, view);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^troupe_shared_learned_remaining\{shared_key="org-openai",kind="requests"\} 3$/m);
    expect(text).toMatch(/^troupe_shared_learned_remaining\{shared_key="org-openai",kind="tokens"\} 1200$/m);
    expect(text).toMatch(/^troupe_shared_learned_limit\{shared_key="org-openai",kind="requests"\} 10$/m);
    expect(text).not.toMatch(/^troupe_shared_learned_limit\{shared_key="org-openai",kind="tokens"\}/m);
    expect(text).toMatch(
      /^troupe_shared_learned_reset_seconds\{shared_key="org-openai",kind="requests"\} 4.2$/m,
    );
    // The budget in force per second, as its name says.
    expect(text).toMatch(/^troupe_shared_budget_requests_per_second\{shared_key="org-openai"\} 10$/m);
  });

  it('says when the store is unreachable, with no participant it cannot read', () => {
    const { store: _, ...withoutStore } = report;
    const view = sharedKeyView({ ...withoutStore, local: { ...local, reachable: false } });
    expect(view.reachable).toBe(false);
    expect(view.participants).toEqual([]);
    expect(sharedKeyLines(view).join('\n')).toContain('paused: coordination store unreachable');
  });

  it(`exports at most ${MAX_PARTICIPANT_SERIES} participants per key, the rest summed as "others"`, async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const many = Array.from({ length: 50 }, (_, i) => ({
      process: `h:${i}`,
      requests: i + 1,
      tokens: 0,
      slots: 1,
    }));
    metrics.setSharedKeys([{ key: 'k', reachable: true, requestsPerMinute: 6000, participants: many }]);
    const json = (await metrics.registry.getMetricsAsJSON()) as unknown as {
      name: string;
      values: { value: number; labels: Record<string, string> }[];
    }[];
    const requests = json.find((m) => m.name === 'troupe_shared_window_requests')!.values;
    expect(requests).toHaveLength(MAX_PARTICIPANT_SERIES);
    expect(requests.reduce((sum, v) => sum + v.value, 0)).toBe((50 * 51) / 2);
    expect(requests.find((v) => v.labels.participant === 'others')?.value).toBe(
      Array.from({ length: 50 - (MAX_PARTICIPANT_SERIES - 1) }, (_, i) => i + 1).reduce((a, b) => a + b, 0),
    );
    expect(json.find((m) => m.name === 'troupe_shared_participants')!.values[0]?.value).toBe(50);
    // A key that is gone leaves no series behind.
    metrics.setSharedKeys([]);
    const after = (await metrics.registry.getMetricsAsJSON()) as unknown as typeof json;
    expect(after.find((m) => m.name === 'troupe_shared_window_requests')!.values).toHaveLength(0);
  });
});
