import type { Logger } from '../log/logger.js';
import { PrivateSocketDir } from '../transport/private-socket-dir.js';
import { RouterTransport } from '../transport/router.js';
import { isControlRequest } from './control-protocol.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

/** Answers one control request (may throw: the client gets an error answer). */
export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>;

/**
 * The daemon's control endpoint: a ZeroMQ ROUTER on an ipc socket in a directory only the
 * daemon's user can enter (`PrivateSocketDir`: 0700 whatever the umask or the data directory's
 * path length), so no other local user can connect to it.
 */
export class ControlServer {
  private constructor(
    private readonly transport: RouterTransport<ControlResponse, ControlRequest>,
    private readonly directory: PrivateSocketDir,
  ) {}

  /** Where the CLI connects. */
  get endpoint(): string {
    return this.transport.endpoint;
  }

  /** Binds the control socket in `dataDir` and serves requests with `handler`. */
  static async start(dataDir: string, handler: ControlHandler, log: Logger): Promise<ControlServer> {
    const directory = await PrivateSocketDir.open(dataDir);
    let transport;
    try {
      transport = await RouterTransport.bind<ControlResponse, ControlRequest>(
        directory.endpointFor('control'),
        { isMessage: isControlRequest },
      );
    } catch (error) {
      await directory.close();
      throw error;
    }
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
    return new ControlServer(transport, directory);
  }

  /** Closes the socket, then removes its directory if it was a temporary one. */
  async close(): Promise<void> {
    await this.transport.close();
    await this.directory.close();
  }
}
