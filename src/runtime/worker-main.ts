/**
 * Entry point of a worker process (forked by the primary's WorkerPool through
 * node:cluster). A thin adapter: it reads who it is from the environment,
 * connects the ZeroMQ transport, opens the shared store, and hands both to the
 * worker core.
 */
import { createLogger } from '../log/logger.js';
import { loadSdksFor } from '../providers/create.js';
import { PROVIDER_TYPES } from '../suite/types.js';
import type { ProviderConfig } from '../suite/types.js';
import { systemClock } from '../resilience/clock.js';
import { openLmdbStore } from '../store/lmdb-store.js';
import { DealerTransport } from '../transport/dealer.js';
import { isToWorker } from '../transport/protocol.js';
import type { FromWorker, ToWorker } from '../transport/protocol.js';
import { DEFAULT_MAX_SEQUENCE_RESTARTS } from '../actors/restart-policy.js';
import { WorkerCore } from './worker-core.js';
import { WORKER_ENV } from './worker-process.js';

/** The provider types named in `text` (comma-separated); unknown names are ignored. */
function providerTypesFrom(text: string | undefined): { readonly type: ProviderConfig['type'] }[] {
  return (text ?? '').split(',').flatMap((name) => {
    const type = PROVIDER_TYPES.find((known) => known === name);
    return type === undefined ? [] : [{ type }];
  });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`worker: environment variable ${name} is not set (workers are started by the daemon)`);
  return value;
}

async function main(): Promise<void> {
  const id = required(WORKER_ENV.id);
  const log = createLogger({ level: process.env[WORKER_ENV.logLevel] ?? 'warn' }).child({ worker: id });
  const store = await openLmdbStore(required(WORKER_ENV.dataDir));
  const transport = await DealerTransport.connect<FromWorker, ToWorker>(required(WORKER_ENV.endpoint), {
    routingId: required(WORKER_ENV.routingId),
    isMessage: isToWorker,
  });
  const core = new WorkerCore({
    transport,
    store,
    env: process.env,
    clock: systemClock,
    log,
    maxSequenceRestarts: DEFAULT_MAX_SEQUENCE_RESTARTS,
  });
  // While the primary resumes its jobs: their sequences then start without waiting for the SDKs.
  void loadSdksFor(providerTypesFrom(process.env[WORKER_ENV.providerTypes]));
  const shutdown = (): void => {
    core.stop();
    void transport
      .close()
      .then(() => store.close())
      .finally(() => process.exit(0));
  };
  // The primary ends workers with SIGKILL or closes their IPC channel when it dies.
  process.once('SIGTERM', shutdown);
  process.once('disconnect', shutdown);
  core.announceReady();
  log.info('worker ready');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `troupe worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
