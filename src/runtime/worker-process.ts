/**
 * How the primary starts a worker process and what the worker learns from its environment.
 * Apart from the pool so that the worker's entry reads `WORKER_ENV` without loading the
 * primary's side (node:cluster's primary, the actors, the gates).
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProviderConfig } from '../suite/types.js';

/** Environment variables that tell a forked worker who it is and where to connect. */
export const WORKER_ENV = {
  id: 'TROUPE_WORKER_ID',
  /** The routing id of this incarnation of the worker (see `WorkerPool`'s slots). */
  routingId: 'TROUPE_WORKER_ROUTING_ID',
  endpoint: 'TROUPE_WORKER_ENDPOINT',
  dataDir: 'TROUPE_DATA_DIR',
  logLevel: 'TROUPE_LOG_LEVEL',
  /** Provider types whose SDKs the worker loads as it boots, comma-separated. */
  providerTypes: 'TROUPE_WORKER_PROVIDER_TYPES',
} as const;

/** What a forked worker is told (see `WORKER_ENV`). */
export interface WorkerIdentity {
  readonly id: string;
  readonly routingId: string;
  /** The primary's transport endpoint. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logLevel: string;
  readonly providerTypes: readonly ProviderConfig['type'][];
}

/** Where the compiled worker entry is: beside this module, or in dist/ when running from the sources (tests). */
export function workerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'worker-main.js');
  // From the TypeScript sources, workers run the build, which `npm test` makes first.
  return resolve(dirname(here), '../../dist/src/runtime/worker-main.js');
}

/** Makes `cluster.fork` start the worker entry; call once in the primary before forking. */
export function setUpWorkerForks(): void {
  cluster.setupPrimary({ exec: workerEntryPath(), args: [] });
}

/** Forks one worker process with `env` (the API keys are read from it there) and its identity. */
export function forkWorker(env: NodeJS.ProcessEnv, identity: WorkerIdentity): Worker {
  return cluster.fork({
    ...env,
    [WORKER_ENV.id]: identity.id,
    [WORKER_ENV.routingId]: identity.routingId,
    [WORKER_ENV.endpoint]: identity.endpoint,
    [WORKER_ENV.dataDir]: identity.dataDir,
    [WORKER_ENV.logLevel]: identity.logLevel,
    [WORKER_ENV.providerTypes]: identity.providerTypes.join(','),
  });
}
