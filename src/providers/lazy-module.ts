/**
 * Loading each SDK takes 100–200 ms, and a daemon's restart waits for whatever it loads before
 * the first request goes out: troupe loads an SDK only for a job whose providers use it, when the
 * first client of that type is built.
 */

/** A loader that calls `load` on first use only, and then hands out the same promise. */
export function lazyModule<M>(load: () => Promise<M>): () => Promise<M> {
  let loading: Promise<M> | undefined;
  return () => (loading ??= load());
}
