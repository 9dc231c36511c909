import type { Logger } from '../log/logger.js';
import { ipcEndpointIn } from '../transport/endpoint.js';
import { RouterTransport } from '../transport/router.js';
import { isControlRequest } from './control-protocol.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

/** Answers one control request (may throw: the client gets an error answer). */
export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>;

/**
 * The daemon's control endpoint: a ZeroMQ ROUTER on an ipc socket in the data
 * directory, so only users who can reach that directory can control the daemon.
 */
export class ControlServer {
  private constructor(private readonly transport: RouterTransport<ControlResponse, ControlRequest>) {}

  /** Where the CLI connects. */
  get endpoint(): string {
    return this.transport.endpoint;
  }

  /** Binds the control socket in `dataDir` and serves requests with `handler`. */
  static async start(dataDir: string, handler: ControlHandler, log: Logger): Promise<ControlServer> {
    const transport = await RouterTransport.bind<ControlResponse, ControlRequest>(
      ipcEndpointIn(dataDir, 'control'),
      {
        isMessage: isControlRequest,
      },
    );
    transport.onMalformed((peer, reason) => log.warn({ peer, reason }, 'malformed control request; dropped'));
    transport.onMessage((peer, request) => {
      handler(request)
        .catch((error: unknown): ControlResponse => ({
          type: 'error',
          requestId: request.requestId,
          error: { code: 'troupe:internal', message: error instanceof Error ? error.message : String(error) },
          badInput: false,
        }))
        .then((response) => transport.send(peer, response))
        .catch((error: unknown) => log.debug({ peer, err: error }, 'control answer not delivered'));
    });
    return new ControlServer(transport);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
