/** Why a file a suite names cannot be used, in the words suite problems use. */

import { access, constants, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeValue } from './schema-check.js';

const READ_ERROR_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** A file system error as a short phrase: `no such file (ENOENT)`. */
export function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined) return `${READ_ERROR_REASONS[code] ?? 'read failed'} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why the script module `file` (relative to `directory`, the suite file's) cannot serve as a
 * check, if it cannot: it must be a readable file now, not a failed check on every answer later,
 * and it must lie in the suite's own directory tree, its symbolic links followed: a check script
 * is code the job runs, so a path that leads out of the tree (`../x.mjs`, an absolute path, a
 * link) is refused. It is not imported here: validating a suite runs none of its code.
 */
export async function scriptProblem(directory: string, file: string): Promise<string | undefined> {
  const absolute = path.resolve(directory, file);
  let reason: string;
  try {
    if ((await stat(absolute)).isFile()) {
      await access(absolute, constants.R_OK);
      return await escapeProblem(directory, file, absolute);
    }
    reason = 'it is not a file';
  } catch (error) {
    reason = describeReadError(error);
  }
  return `expected a readable JS module (its path relative to the suite file), found ${describeValue(file)}: cannot read ${absolute}: ${reason}`;
}

/** Why `absolute` (the script `file` as written) is outside the tree of `directory`, if it is. */
async function escapeProblem(directory: string, file: string, absolute: string): Promise<string | undefined> {
  const [root, real] = await Promise.all([realpath(directory), realpath(absolute)]);
  if (isInside(root, real)) return undefined;
  const where = real === absolute ? absolute : `${absolute}, which leads to ${real}`;
  return `expected a JS module inside the suite's directory ${root}, found ${describeValue(file)}: ${where} is outside it (a check script is code the job runs)`;
}

/** True if `file` (a resolved path) lies under the directory `root` (a resolved path). */
export function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return (
    relative !== '' &&
    !relative.startsWith(`..${path.sep}`) &&
    relative !== '..' &&
    !path.isAbsolute(relative)
  );
}
