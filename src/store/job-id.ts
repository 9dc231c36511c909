import { randomInt } from 'node:crypto';

/** Characters of a job id's random part: lowercase, URL- and file-safe. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Length of the random part: 36^6 ≈ 2.2 billion ids per minute. */
const RANDOM_CHARS = 6;
/** Resolution of the default random source (`randomInt` accepts ranges below 2^48). */
const RANDOM_RESOLUTION = 2 ** 32;

/** What a job id looks like: `YYYYMMDD-HHMM-` in UTC, then six lowercase letters or digits. */
export const JOB_ID_PATTERN = /^\d{8}-\d{4}-[0-9a-z]{6}$/;

/** A uniform random number in [0, 1) from the operating system's cryptographic source. */
export function secureRandom(): number {
  return randomInt(RANDOM_RESOLUTION) / RANDOM_RESOLUTION;
}

/**
 * A new job id, e.g. `20261126-2350-k3f9q2`: the UTC minute of `now` (so ids sort by creation
 * time as plain strings) and a random part. Safe in URLs and file names.
 * `random` returns numbers in [0, 1), like `Math.random` (the default is cryptographic).
 */
export function newJobId(now: Date, random: () => number = secureRandom): string {
  if (Number.isNaN(now.getTime())) throw new RangeError('newJobId: invalid date');
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  const date = `${pad(now.getUTCFullYear(), 4)}${pad(now.getUTCMonth() + 1, 2)}${pad(now.getUTCDate(), 2)}`;
  const time = `${pad(now.getUTCHours(), 2)}${pad(now.getUTCMinutes(), 2)}`;
  let suffix = '';
  for (let i = 0; i < RANDOM_CHARS; i++) {
    const r = random();
    if (!(r >= 0 && r < 1))
      throw new RangeError(`newJobId: random() returned ${r}, expected a number in [0, 1)`);
    suffix += ALPHABET.charAt(Math.floor(r * ALPHABET.length));
  }
  return `${date}-${time}-${suffix}`;
}
