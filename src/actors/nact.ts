/**
 * The one place that touches nact's loosely typed API. Everything else in troupe
 * spawns, dispatches and queries through these functions, strictly typed and
 * without casts. See LIBRARY-NOTES: nact handles one message at a time and awaits
 * async handlers, so handlers here must return quickly and start long I/O as a
 * promise that reports back with `dispatch(ctx.self, …)`.
 */
import * as nact from 'nact';

/** A reference to an actor that accepts messages of type `M`. */
export interface ActorRef<M> {
  /** Phantom field: makes `ActorRef<A>` and `ActorRef<B>` incompatible. Never present at runtime. */
  readonly __messages?: (message: M) => void;
}

/** Any actor reference, whatever it accepts (for parents, children and stop). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyActorRef = ActorRef<any>;

/** The root of an actor system, parent of top-level actors. */
export interface SystemRef {
  readonly __system?: true;
}

/** What an actor's handler can see about itself. */
export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  readonly name: string;
  /** Path of the actor, for logs. */
  readonly path: string;
}

/** Decisions a supervisor can take when a child's handler throws. */
export type SupervisionDecision = 'resume' | 'reset' | 'stop' | 'escalate' | 'resetChild' | 'stopChild';

/**
 * Called when this actor's handler throws (nact `onCrash`, in the child's own
 * props), and again in the parent's props when the child returns `escalate`; then
 * `child` is set and `message` is the child's message. A parent that answers
 * `resume` for an escalated child leaves the child hanging forever (LIBRARY-NOTES).
 */
export type CrashHandler<M> = (
  message: unknown,
  error: unknown,
  ctx: ActorContext<M>,
  child: AnyActorRef | undefined,
) => SupervisionDecision;

/** Props of a stateful actor. */
export interface ActorProps<S, M> {
  /** Builds the state at start and again on every reset (restart after a crash). */
  readonly initialState: (ctx: ActorContext<M>) => S;
  readonly onCrash?: CrashHandler<M>;
  /** Runs once after the actor stopped (not on reset). */
  readonly afterStop?: (state: S) => void;
}

/** A stateful actor's handler: returns the next state (or a promise of it; nact awaits it). */
export type ActorHandler<S, M> = (state: S, message: M, ctx: ActorContext<M>) => S | Promise<S>;

// nact's runtime objects are opaque; these two casts are the only ones in the project.
const toNact = (ref: AnyActorRef | SystemRef): nact.Ref<unknown> => ref as unknown as nact.Ref<unknown>;
const fromNact = <M>(ref: nact.Ref<unknown>): ActorRef<M> => ref as unknown as ActorRef<M>;

interface NactContext {
  self: nact.Ref<unknown>;
  name: string;
  path: { toString(): string };
}

interface NactSupervisionContext extends NactContext {
  resume: symbol;
  reset: symbol;
  stop: symbol;
  escalate: symbol;
  resetChild: symbol;
  stopChild: symbol;
}

function contextOf<M>(ctx: NactContext): ActorContext<M> {
  return { self: fromNact<M>(ctx.self), name: ctx.name, path: ctx.path.toString() };
}

/** Starts an actor system; `stopSystem` ends it. */
export function startSystem(name?: string): SystemRef {
  const system = name === undefined ? nact.start() : nact.start(name);
  return system as unknown as SystemRef;
}

/** Stops an actor and all its children (also works on a system). Later dispatches to it are dropped. */
export function stopActor(ref: AnyActorRef | SystemRef): void {
  nact.stop(toNact(ref));
}

/** Spawns a stateful actor named `name` under `parent`. */
export function spawnActor<S, M>(
  parent: AnyActorRef | SystemRef,
  name: string,
  handler: ActorHandler<S, M>,
  props: ActorProps<S, M>,
): ActorRef<M> {
  const nactProps = {
    initialStateFunc: (ctx: NactContext) => props.initialState(contextOf<M>(ctx)),
    afterStop: props.afterStop ? (state: S) => props.afterStop?.(state) : undefined,
    onCrash: props.onCrash
      ? (message: unknown, error: unknown, ctx: NactSupervisionContext, child?: nact.Ref<unknown>) =>
          toSymbol(
            props.onCrash?.(message, error, contextOf<M>(ctx), child ? fromNact(child) : undefined) ?? 'stop',
            ctx,
          )
      : undefined,
  };
  const ref = nact.spawn(
    toNact(parent),
    (state: S, message: M, ctx: NactContext) => handler(state, message, contextOf<M>(ctx)),
    name,
    nactProps as never,
  );
  return fromNact<M>(ref);
}

/**
 * Spawns a stateless actor. nact ignores `onCrash` for these (always resumes), so
 * a stateless handler must not be trusted to survive a throw with any state.
 */
export function spawnStatelessActor<M>(
  parent: AnyActorRef | SystemRef,
  name: string,
  handler: (message: M, ctx: ActorContext<M>) => void | Promise<void>,
): ActorRef<M> {
  const ref = nact.spawnStateless(
    toNact(parent),
    (message: M, ctx: NactContext) => handler(message, contextOf<M>(ctx)),
    name,
  );
  return fromNact<M>(ref);
}

/** Sends a message; never blocks. A message to a stopped actor is silently dropped (nact). */
export function dispatch<M>(ref: ActorRef<M>, message: M): void {
  nact.dispatch(toNact(ref), message);
}

/**
 * Sends a message built around a temporary reply address and waits for the first
 * reply. Rejects after `timeoutMs` or if the actor is stopped.
 */
export function query<M, R>(
  ref: ActorRef<M>,
  build: (replyTo: ActorRef<R>) => M,
  timeoutMs: number,
): Promise<R> {
  return nact.query(
    toNact(ref),
    (temp: nact.Ref<unknown>) => build(fromNact<R>(temp)),
    timeoutMs,
  ) as Promise<R>;
}

function toSymbol(decision: SupervisionDecision, ctx: NactSupervisionContext): symbol {
  switch (decision) {
    case 'resume':
      return ctx.resume;
    case 'reset':
      return ctx.reset;
    case 'stop':
      return ctx.stop;
    case 'escalate':
      return ctx.escalate;
    case 'resetChild':
      return ctx.resetChild;
    case 'stopChild':
      return ctx.stopChild;
    default: {
      const unknownDecision: never = decision;
      throw new Error(`unknown supervision decision ${String(unknownDecision)}`);
    }
  }
}
