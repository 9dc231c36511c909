/**
 * The sequence ids a suite declares, to find duplicates among a million of them without keeping
 * a million strings: the ids of a sequences file are kept as 64-bit hashes (two independent
 * 32-bit hashes) in an open-addressing table, with the line that declared each. Two different
 * ids of one file are taken for the same one with a probability of about n² / 2⁶⁵ (3 × 10⁻⁸ for a
 * million ids); the suite file's own few ids are kept as they are.
 */

/** Where an id was first declared. */
export interface FirstUse {
  /** `file:line[:col]`. */
  readonly at: string;
  /** Its field: `sequences[2].id`, `id`, `question_id`. */
  readonly field: string;
}

/** The field that declares an id on a line of a sequences file. */
export type LineIdField = 'id' | 'question_id';

const INITIAL_SLOTS = 1 << 10;
/** The table doubles once it is this full (linear probing stays short below it). */
const MAX_LOAD = 0.75;
const FIELDS: readonly LineIdField[] = ['id', 'question_id'];

/** Every sequence id of one suite: the suite file's, then its sequences file's. */
export class SequenceIdRegistry {
  private readonly inline = new Map<string, FirstUse>();
  private slots = INITIAL_SLOTS;
  private hashA = new Uint32Array(INITIAL_SLOTS);
  private hashB = new Uint32Array(INITIAL_SLOTS);
  /** Line of each slot's id, 0 for an empty slot (lines count from 1). */
  private lines = new Int32Array(INITIAL_SLOTS);
  private fields = new Uint8Array(INITIAL_SLOTS);
  private used = 0;

  /** Where the file's lines are said to be: `file` in `file:line`. */
  constructor(private readonly fileShown: string = '') {}

  /** Adds an id of the suite file; returns its first use if it was declared before. */
  addInline(id: string, use: FirstUse): FirstUse | undefined {
    const first = this.inline.get(id);
    if (first) return first;
    this.inline.set(id, use);
    return undefined;
  }

  /** Adds an id declared on `line` of the sequences file; returns its first use if it was declared before. */
  addFileLine(id: string, line: number, field: LineIdField): FirstUse | undefined {
    const first = this.inline.get(id);
    if (first) return first;
    const [a, b] = hashes(id);
    let slot = a & (this.slots - 1);
    while (this.lines[slot] !== 0) {
      if (this.hashA[slot] === a && this.hashB[slot] === b) {
        return {
          at: `${this.fileShown}:${this.lines[slot]}`,
          field: FIELDS[this.fields[slot] as number] ?? 'id',
        };
      }
      slot = (slot + 1) & (this.slots - 1);
    }
    this.put(slot, a, b, line, FIELDS.indexOf(field));
    if (this.used > this.slots * MAX_LOAD) this.grow();
    return undefined;
  }

  private put(slot: number, a: number, b: number, line: number, field: number): void {
    this.hashA[slot] = a;
    this.hashB[slot] = b;
    this.lines[slot] = line;
    this.fields[slot] = field;
    this.used += 1;
  }

  private grow(): void {
    const [oldA, oldB, oldLines, oldFields] = [this.hashA, this.hashB, this.lines, this.fields];
    this.slots *= 2;
    this.hashA = new Uint32Array(this.slots);
    this.hashB = new Uint32Array(this.slots);
    this.lines = new Int32Array(this.slots);
    this.fields = new Uint8Array(this.slots);
    this.used = 0;
    for (let old = 0; old < oldLines.length; old++) {
      const line = oldLines[old] as number;
      if (line === 0) continue;
      const a = oldA[old] as number;
      let slot = a & (this.slots - 1);
      while (this.lines[slot] !== 0) slot = (slot + 1) & (this.slots - 1);
      this.put(slot, a, oldB[old] as number, line, oldFields[old] as number);
    }
  }
}

/** Two independent 32-bit hashes of a string's UTF-16 code units (FNV-1a, and a Murmur-style mix). */
function hashes(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  b = Math.imul(b ^ (b >>> 15), 0x27d4eb2d);
  return [a >>> 0, (b ^ (b >>> 16)) >>> 0];
}
