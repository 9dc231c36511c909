import type { Logger } from '../log/logger.js';
import type { Envelope } from '../transport/codec.js';
import { PrivateSocketDir } from '../transport/private-socket-dir.js';
import { RouterTransport } from '../transport/router.js';
import { parseControlRequest } from './control-protocol.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

/** Answers one control request (may throw: the client gets an error answer). */
export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>;

/** The error code of a control message that is not a well-formed request. */
export const BAD_REQUEST_CODE = 'troupe:bad-request';

/**
 * The daemon's control endpoint: a ZeroMQ ROUTER on an ipc socket in a directory only the
 * daemon's user can enter (`PrivateSocketDir`: 0700 whatever the umask or the data directory's
 * path length), so no other local user can connect to it. Every message is read field by field:
 * a malformed one is answered with a `troupe:bad-request` error naming the field, never handled.
 */
export class ControlServer {
  private constructor(
    private readonly transport: RouterTransport<ControlResponse, Envelope>,
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
      transport = await RouterTransport.bind<ControlResponse, Envelope>(directory.endpointFor('control'));
    } catch (error) {
      await directory.close();
      throw error;
    }
    const refuse = (peer: string, requestId: string, reason: string): void => {
      log.warn({ peer, reason }, 'malformed control request; refused');
      const message = `malformed control request: ${reason}`;
      const answer: ControlResponse = {
        type: 'error',
        requestId,
        error: { code: BAD_REQUEST_CODE, message },
        badInput: true,
      };
      transport
        .send(peer, answer)
        .catch((error: unknown) => log.debug({ peer, err: error }, 'control answer not delivered'));
    };
    // Not even an envelope (undecodable bytes, no "type"): answered without an id.
    transport.onMalformed((peer, reason) => refuse(peer, '', reason));
    transport.onMessage((peer, message) => {
      const parsed = parseControlRequest(message);
      if (!parsed.ok) {
        refuse(peer, parsed.requestId, parsed.reason);
        return;
      }
      const { request } = parsed;
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
