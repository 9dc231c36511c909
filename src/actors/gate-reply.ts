/**
 * The replies a provider's breaker and limiter actors send to the gate client. They live apart from
 * all three so that the actors depend on this small module, not on each other.
 */

/** Replies the gate client receives from the breaker and the limiter. */
export type GateReply =
  | { readonly type: 'admitted'; readonly id: string; readonly probe: boolean }
  | { readonly type: 'permit-granted'; readonly id: string }
  /** The breaker is still closed: the permitted request may leave. */
  | { readonly type: 'confirmed'; readonly id: string }
  /** The breaker opened meanwhile: the request waits at the breaker again (an `admitted` follows). */
  | { readonly type: 'held'; readonly id: string }
  /** The provider refused the account's credentials: the request is never sent; the turn fails with `error`. */
  | {
      readonly type: 'refused';
      readonly id: string;
      readonly error: { readonly code: string; readonly message: string };
    };
