/** A set of handlers for one kind of event, isolated from each other's exceptions. */
import type { Unsubscribe } from './ends.js';

/** Handlers of one event; `emit` calls each in the order they were added. */
export class Listeners<Args extends unknown[]> {
  private readonly handlers = new Set<(...args: Args) => void>();

  /** Adds `handler`; the result removes it. */
  add(handler: (...args: Args) => void): Unsubscribe {
    // A wrapper makes each registration distinct, so adding the same function twice works twice.
    const entry = (...args: Args): void => handler(...args);
    this.handlers.add(entry);
    return () => {
      this.handlers.delete(entry);
    };
  }

  /** Calls every handler. A handler's exception is rethrown on a later tick, after the others ran. */
  emit(...args: Args): void {
    for (const handler of this.handlers) {
      try {
        handler(...args);
      } catch (error) {
        // The transport's receive loop must survive a consumer's bug, and the bug must not be silent.
        setImmediate(() => {
          throw error;
        });
      }
    }
  }
}
