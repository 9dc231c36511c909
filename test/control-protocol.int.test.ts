import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { isControlResponse } from '../src/daemon/control-protocol.js';
import type { ControlResponse } from '../src/daemon/control-protocol.js';
import { readDaemonInfo } from '../src/daemon/daemon-lock.js';
import { decodeMessages } from '../src/transport/codec.js';
import type { Envelope } from '../src/transport/codec.js';
import { DealerTransport } from '../src/transport/dealer.js';
import { runCli } from './helpers/cli.js';
import { DaemonProcess } from './helpers/daemon.js';
import { tempDir } from './helpers/temp.js';

/** Longest wait for one answer of the daemon, in ms. */
const ANSWER_WAIT_MS = 20_000;

const VALID = `name: fine
providers:
  sim: { type: simulated, latencyMs: 0 }
models:
  - { id: a, provider: sim, model: m }
sequences:
  - { id: s1, prompts: ["one"] }
`;

/** `models[0].provider` names no provider: a suite only the daemon's own check can refuse. */
const MALFORMED = VALID.replace('provider: sim', 'provider: nope');

/** A raw client of the control socket: sends any envelope, collects every answer. */
class RawClient {
  private readonly answers: ControlResponse[] = [];

  private constructor(private readonly transport: DealerTransport<Envelope, ControlResponse>) {
    transport.onMessage((message) => this.answers.push(message));
  }

  static async connect(endpoint: string): Promise<RawClient> {
    const transport = await DealerTransport.connect<Envelope, ControlResponse>(endpoint, {
      routingId: `raw-${randomUUID().slice(0, 8)}`,
      isMessage: isControlResponse,
    });
    return new RawClient(transport);
  }

  /** Sends `message` and waits for the answer carrying `requestId`. */
  async ask(message: Envelope & Record<string, unknown>, requestId: string): Promise<ControlResponse> {
    await this.transport.send(message);
    let found: ControlResponse | undefined;
    await expect
      .poll(() => (found = this.answers.find((a) => a.requestId === requestId)), { timeout: ANSWER_WAIT_MS })
      .toBeDefined();
    return found as ControlResponse;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

describe('the daemon reads every control request field by field and validates every submitted suite', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let daemon: DaemonProcess;
  let client: RawClient;
  let endpoint: string;

  beforeAll(async () => {
    dir = await tempDir();
    dataDir = join(dir.path, 'data');
    await writeFile(join(dir.path, 'valid.yaml'), VALID);
    await writeFile(join(dir.path, 'malformed.yaml'), MALFORMED);
    daemon = await DaemonProcess.start(dataDir, {}, ['--workers', '0']);
    endpoint = (await readDaemonInfo(dataDir))?.controlEndpoint ?? '';
    client = await RawClient.connect(endpoint);
  });

  afterAll(async () => {
    await client.close();
    await daemon.terminate();
    await dir.cleanup();
  });

  const CASES: readonly { name: string; message: Record<string, unknown>; says: string }[] = [
    { name: 'a submit without suitePath', message: { type: 'submit' }, says: 'submit: suitePath: expected' },
    {
      name: 'a relative suitePath',
      message: { type: 'submit', suitePath: 'suite.yaml' },
      says: `submit: suitePath: expected the suite file's absolute path, found "suite.yaml"`,
    },
    {
      name: 'a parsed suite instead of a path (the old protocol)',
      message: { type: 'submit', suitePath: '/x.yaml', suite: { name: 'x' } },
      says: 'submit: unknown field "suite"',
    },
    {
      name: 'a spend cap that is no number',
      message: { type: 'submit', suitePath: '/x.yaml', maxCostUsd: 'lots' },
      says: 'submit: maxCostUsd: expected a number of US dollars above 0, found "lots"',
    },
    {
      name: 'reuse that is no list of ids',
      message: { type: 'submit', suitePath: '/x.yaml', reuse: [7] },
      says: 'submit: reuse[0]: expected a job id, found 7',
    },
    {
      name: 'a cancel without a job',
      message: { type: 'cancel' },
      says: 'cancel: job: expected a job id, found nothing',
    },
    { name: 'an unknown type', message: { type: 'format-disk' }, says: 'type: expected one of ping, submit' },
  ];

  for (const testCase of CASES) {
    it(`refuses ${testCase.name} with a clear error, never troupe:internal`, async () => {
      const requestId = randomUUID();
      const answer = await client.ask(
        { ...testCase.message, type: testCase.message.type as string, requestId },
        requestId,
      );
      expect(answer).toMatchObject({ type: 'error', badInput: true, error: { code: 'troupe:bad-request' } });
      if (answer.type === 'error') expect(answer.error.message).toContain(testCase.says);
    });
  }

  it('answers a request without an id, and bytes that are no message at all, without an id', async () => {
    const noId = await client.ask({ type: 'ping' }, '');
    expect(noId).toMatchObject({ type: 'error', badInput: true, error: { code: 'troupe:bad-request' } });
    if (noId.type === 'error') expect(noId.error.message).toContain('requestId: expected a non-empty string');

    const raw = new Dealer({
      routingId: `garbage-${randomUUID().slice(0, 8)}`,
      receiveTimeout: ANSWER_WAIT_MS,
    });
    raw.connect(endpoint);
    try {
      await raw.send(Buffer.from([0xc1, 0xff, 0x00]));
      const [body] = await raw.receive();
      const [decoded] = decodeMessages(body ?? Buffer.alloc(0));
      expect(decoded).toMatchObject({
        ok: true,
        message: { type: 'error', requestId: '', badInput: true, error: { code: 'troupe:bad-request' } },
      });
    } finally {
      raw.close();
    }
  });

  it('refuses a malformed suite with the very message validate prints (exit 2), and stores nothing', async () => {
    const suitePath = join(dir.path, 'malformed.yaml');
    const validate = await runCli(['validate', suitePath]);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain('models[0].provider');

    const requestId = randomUUID();
    const answer = await client.ask({ type: 'submit', requestId, suitePath }, requestId);
    expect(answer).toMatchObject({ type: 'error', badInput: true, error: { code: 'troupe:bad-input' } });
    if (answer.type === 'error') expect(`troupe: ${answer.error.message}\n`).toBe(validate.stderr);

    const submit = await runCli(['submit', suitePath, '--data-dir', dataDir]);
    expect(submit.code).toBe(2);
    expect(submit.stderr).toBe(validate.stderr);

    const jobs = await runCli(['jobs', '--data-dir', dataDir]);
    expect(jobs.stdout).toContain('no jobs yet');
  });

  it('still takes a valid suite after all that, by its path', async () => {
    const submit = await runCli(['submit', join(dir.path, 'valid.yaml'), '--data-dir', dataDir]);
    expect(submit.stderr).toBe('');
    expect(submit.code).toBe(0);
    const job = submit.stdout.trim();
    await expect
      .poll(async () => (await runCli(['jobs', '--data-dir', dataDir])).stdout)
      .toMatch(new RegExp(`${job}\\s+fine\\s+done`));
  });
});
