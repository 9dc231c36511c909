import { KEY_PREFIX } from './defaults.js';

/** The store's keys of one shared budget, in the order the scripts take them. */
export function budgetKeys(sharedKey: string): readonly string[] {
  // The braces make a hash tag: on a Redis Cluster, every key of one budget lives on one node.
  const base = `${KEY_PREFIX}:{${sharedKey}}`;
  return ['state', 'log', 'amounts', 'members', 'alive', 'shares', 'slots', 'limits'].map(
    (k) => `${base}:${k}`,
  );
}
