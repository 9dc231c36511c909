/**
 * The one place that touches nact's loosely typed API, and so the only place with casts to and
 * from nact's types (its typings lack a persistent actor's `ctx`, and its `Ref<T>` checks no `T`).
 * Everything else in troupe spawns, dispatches and queries through these functions, strictly
 * typed. nact handles one message at a time and awaits async handlers, so handlers here must
 * return quickly and start long I/O as a promise that reports back with `dispatch(ctx.self, …)`.
 *
 * Batching: nact hands an actor one message per turn of the event loop (each in its
 * own `setImmediate`), so an actor that thousands of turns talk to — a provider's
 * rate limiter, the gate's reply actor, a model actor — would otherwise handle only
 * as many messages per second as the loop turns. `dispatch` therefore collects the
 * messages sent to each of our actors during one synchronous run and hands them to
 * nact together, at the end of that run (a microtask); the actor's handler folds
 * them in order, in one turn of the loop. Order per target is kept; one actor's
 * handling stays one message at a time. One difference from nact alone: when a
 * message of a batch throws, the messages after it in the batch go to the back of
 * the mailbox, and a `resume` keeps the state from before the batch. troupe's only
 * crash policy resets the actor from the store, for which neither matters.
 *
 * nact itself is patched (patches/, applied by `npm ci` through patch-package): as published,
 * it copies an actor's whole children map into the context of every message it delivers, so a
 * parent of N children paid O(N) per message. Patched, the map is copied only when a handler
 * reads `ctx.children`, which troupe never does (test/nact-children.test.ts).
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
 * `resume` for an escalated child leaves the child hanging forever (nact 7.6.2, measured).
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

// nact's runtime objects are opaque: these casts (and the system's below) are the only ones between
// nact's types and troupe's. (Other casts in the project narrow decoded wire messages.)
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
  // When `initialState` throws (a sequence restoring from a damaged store), nact goes on without a
  // state: it hands `undefined` to the handler and to afterStop. The handler then throws the error
  // that left it without one, and afterStop is skipped (an uncaught TypeError there ended the process).
  let stateless: { readonly error: unknown } | undefined;
  const nactProps = {
    initialStateFunc: (ctx: NactContext) => {
      stateless = undefined;
      try {
        return props.initialState(contextOf<M>(ctx));
      } catch (error) {
        stateless = { error };
        throw error;
      }
    },
    afterStop: props.afterStop
      ? (state: S | undefined) => {
          if (stateless === undefined && state !== undefined) props.afterStop?.(state);
        }
      : undefined,
    onCrash: props.onCrash
      ? (message: unknown, error: unknown, ctx: NactSupervisionContext, child?: nact.Ref<unknown>) =>
          toSymbol(
            props.onCrash?.(
              crashedMessageOf(message),
              error,
              contextOf<M>(ctx),
              child ? fromNact(child) : undefined,
            ) ?? 'stop',
            ctx,
          )
      : undefined,
  };
  const ref = nact.spawn(
    toNact(parent),
    (state: S, message: M | Batch<M>, ctx: NactContext) => {
      if (stateless !== undefined) throw stateless.error;
      const context = contextOf<M>(ctx);
      if (!isBatch(message)) return handler(state, message, context);
      return foldBatch(message, state, (current, one) => handler(current, one, context), context.self);
    },
    name,
    nactProps as never,
  );
  ours.add(ref);
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
    (message: M | Batch<M>, ctx: NactContext) => {
      const context = contextOf<M>(ctx);
      if (!isBatch(message)) return handler(message, context);
      return foldBatch<undefined, M>(
        message,
        undefined,
        (_, one) => {
          const done = handler(one, context);
          return isPromiseLike(done) ? done.then(() => undefined) : undefined;
        },
        context.self,
      );
    },
    name,
  );
  ours.add(ref);
  return fromNact<M>(ref);
}

/**
 * Sends a message; never blocks. Messages to one of our actors leave together at the end of
 * the current synchronous run (see the module comment). A message to a stopped actor is
 * silently dropped (nact).
 */
export function dispatch<M>(ref: ActorRef<M>, message: M): void {
  const target = toNact(ref);
  // Temporary reply addresses of `query` are nact's own: they take the message as it is.
  if (!ours.has(target)) {
    nact.dispatch(target, message);
    return;
  }
  let waiting = outbox.get(target);
  if (waiting === undefined) {
    waiting = [];
    outbox.set(target, waiting);
  }
  waiting.push(message);
  if (!flushScheduled) {
    flushScheduled = true;
    queueMicrotask(flushOutbox);
  }
}

/** Messages handed to nact as one: the receiving actor handles them in order, in one turn. */
interface Batch<M> {
  readonly [BATCH]: readonly M[];
}

const BATCH = Symbol('troupe.nact.batch');
/** The actors spawned through this module (their handlers understand batches). */
const ours = new WeakSet<object>();
/** Messages dispatched during the current synchronous run, per target, in order. */
const outbox = new Map<nact.Ref<unknown>, unknown[]>();
let flushScheduled = false;
/** The message of a batch whose handling threw, for the actor's crash handler. */
const crashedMessages = new WeakMap<object, unknown>();

function flushOutbox(): void {
  flushScheduled = false;
  const targets = [...outbox];
  outbox.clear();
  for (const [target, messages] of targets) flushTo(target, messages);
}

function flushTo(target: nact.Ref<unknown>, messages: readonly unknown[]): void {
  const batch: Batch<unknown> = { [BATCH]: messages };
  nact.dispatch(target, messages.length === 1 ? messages[0] : batch);
}

/** Hands `target` what waits for it now, so that a message sent after them arrives after them. */
function flushTarget(target: nact.Ref<unknown>): void {
  const waiting = outbox.get(target);
  if (waiting === undefined) return;
  outbox.delete(target);
  flushTo(target, waiting);
}

function isBatch<M>(message: M | Batch<M>): message is Batch<M> {
  return typeof message === 'object' && message !== null && BATCH in message;
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function crashedMessageOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null && crashedMessages.has(message)
    ? crashedMessages.get(message)
    : message;
}

/**
 * Applies `step` to each message of `batch` in order, awaiting it when it returns a promise.
 * When one throws, the messages after it go back to the actor's mailbox (as nact keeps the
 * rest of the mailbox after a crash) and the error reaches nact's supervision as that
 * message's.
 */
function foldBatch<S, M>(
  batch: Batch<M>,
  state: S,
  step: (state: S, message: M) => S | Promise<S>,
  self: ActorRef<M>,
): S | Promise<S> {
  const messages = batch[BATCH];
  const fail = (index: number, error: unknown): never => {
    crashedMessages.set(batch, messages[index]);
    for (const rest of messages.slice(index + 1)) dispatch(self, rest);
    throw error;
  };
  const from = (start: number, current: S): S | Promise<S> => {
    let next = current;
    for (let index = start; index < messages.length; index += 1) {
      let result: S | Promise<S>;
      try {
        result = step(next, messages[index] as M);
      } catch (error) {
        return fail(index, error);
      }
      if (isPromiseLike(result)) {
        return result.then(
          (resolved) => from(index + 1, resolved),
          (error: unknown) => fail(index, error),
        );
      }
      next = result;
    }
    return next;
  };
  return from(0, state);
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
  // Whatever was dispatched to it before is handled before the query.
  flushTarget(toNact(ref));
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
