/**
 * A new job's check scripts, frozen: each `script:` module a sequence names is copied, when the
 * job is created, into `<data-dir>/scripts/<sha256>.<mjs|cjs>` (a directory only the owner can
 * enter, the copy read-only), and the job's checks point at the copy with its hash. Editing,
 * replacing or removing the suite's file afterwards changes nothing the job runs; a copy whose
 * contents no longer have the hash is not run (see `scoring/checks.ts`).
 *
 * The copy is one file: a script may import Node's own modules, but a relative import or a
 * package would be looked for beside the copy, not beside the suite.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Check } from '../scoring/types.js';
import { isInside } from '../suite/file-problems.js';
import type { SuiteSource } from '../suite/load.js';
import type { SequenceConfig } from '../suite/types.js';

/** The directory of frozen scripts inside a data directory. */
export const FROZEN_SCRIPTS_DIR = 'scripts';

/** The frozen scripts' directory: its owner alone enters it. */
const FROZEN_DIR_MODE = 0o700;

/** A frozen copy: its owner reads it, nobody writes it. */
const FROZEN_FILE_MODE = 0o400;

/**
 * `source` whose sequences' script checks point at frozen copies in `dataDir`. `suiteDirectory`
 * is the suite file's directory: a script that now leads out of its tree (a file swapped for a
 * link since it was validated) is an `InputError`, never copied. Each script is copied once,
 * however many sequences name it and however often the sequences are read.
 */
export function freezeScripts(source: SuiteSource, suiteDirectory: string, dataDir: string): SuiteSource {
  const frozen = new Map<string, Promise<Check>>();
  const freeze = (original: string): Promise<Check> => {
    let copy = frozen.get(original);
    if (copy === undefined) {
      copy = freezeOne(original, suiteDirectory, path.join(path.resolve(dataDir), FROZEN_SCRIPTS_DIR));
      frozen.set(original, copy);
    }
    return copy;
  };
  const frozenSequence = async (sequence: SequenceConfig): Promise<SequenceConfig> => {
    if (sequence.checks === undefined) return sequence;
    const checks = await Promise.all(
      sequence.checks.map((list) =>
        Promise.all(list.map((check) => (check.kind === 'script' ? freeze(check.path) : check))),
      ),
    );
    return { ...sequence, checks };
  };
  return {
    ...source,
    async *sequences(batchSize) {
      for await (const batch of source.sequences(batchSize))
        yield await Promise.all(batch.map(frozenSequence));
    },
  };
}

async function freezeOne(original: string, suiteDirectory: string, directory: string): Promise<Check> {
  const [root, real] = await Promise.all([realpath(suiteDirectory), realpath(original)]);
  if (!isInside(root, real)) {
    throw new InputError(
      `the check script ${original} now leads to ${real}, outside the suite's directory ${root}; it was not copied`,
    );
  }
  const bytes = await readFile(real);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(directory, { recursive: true, mode: FROZEN_DIR_MODE });
  await chmod(directory, FROZEN_DIR_MODE);
  const copy = path.join(directory, `${sha256}${await moduleExtension(real)}`);
  if (!(await exists(copy))) {
    // Written aside and renamed: a copy is whole or absent, and one of the same contents is the same copy.
    const partial = `${copy}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await writeFile(partial, bytes, { mode: FROZEN_FILE_MODE, flag: 'wx' });
      await rename(partial, copy);
    } finally {
      await rm(partial, { force: true });
    }
  }
  return { kind: 'script', path: copy, sha256 };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * `.mjs` or `.cjs`, so that the copy is loaded as the original would be: by its own extension,
 * and a `.js` (or any other) file as the nearest `package.json` above it says (`"type": "module"`
 * makes it an ES module; otherwise CommonJS, as Node decides).
 */
async function moduleExtension(file: string): Promise<'.mjs' | '.cjs'> {
  const extension = path.extname(file);
  if (extension === '.mjs' || extension === '.cjs') return extension;
  for (let directory = path.dirname(file); ; directory = path.dirname(directory)) {
    try {
      const manifest = JSON.parse(await readFile(path.join(directory, 'package.json'), 'utf8')) as {
        type?: unknown;
      };
      return manifest.type === 'module' ? '.mjs' : '.cjs';
    } catch {
      // No readable package.json here: look further up.
    }
    if (path.dirname(directory) === directory) return '.cjs';
  }
}
