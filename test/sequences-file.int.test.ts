import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ExitCode } from '../src/errors.js';
import { MAX_SEQUENCES_FILE_BYTES } from '../src/suite/defaults.js';
import { firstInvalidUtf8, READ_CHUNK_BYTES } from '../src/suite/line-reader.js';
import { openSuite, SuiteError } from '../src/suite/load.js';
import { runCli } from './helpers/cli.js';

const SUITE = [
  'providers:',
  '  sim: { type: simulated, latencyMs: 1 }',
  'models:',
  '  - { id: m1, provider: sim, model: x }',
  'sequencesFile: SEQUENCES',
].join('\n');

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'troupe-seqfile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function suiteFor(sequencesFile: string): Promise<string> {
  const suitePath = path.join(dir, 'suite.yaml');
  await writeFile(suitePath, SUITE.replace('SEQUENCES', sequencesFile));
  return suitePath;
}

async function problemsOf(suitePath: string): Promise<string[]> {
  try {
    await openSuite(suitePath);
  } catch (error) {
    expect(error).toBeInstanceOf(SuiteError);
    return [...(error as SuiteError).problems];
  }
  throw new Error('expected problems');
}

function line(id: string, prompts: readonly string[]): string {
  return JSON.stringify({ id, prompts });
}

describe('a sequences file is streamed', () => {
  it('reads lines across read chunks, CRLF and a byte-order mark, in batches in file order', async () => {
    // Lines long enough that many of them straddle the boundary of a read chunk.
    const padding = 'x'.repeat(997);
    const count = Math.ceil((3 * READ_CHUNK_BYTES) / 1024);
    const lines = Array.from({ length: count }, (_, i) => line(`s${i}`, [`${padding} ${i}`, 'é ✓ 𝄞']));
    await writeFile(path.join(dir, 'seq.jsonl'), `\uFEFF${lines.join('\r\n')}\r\n\r\n`);
    const source = await openSuite(await suiteFor('seq.jsonl'));
    expect(source.stats).toEqual({ count, prompts: 2 * count, longest: 2, shortest: 2 });
    const ids: string[] = [];
    let batches = 0;
    for await (const batch of source.sequences(700)) {
      expect(batch.length).toBeLessThanOrEqual(700);
      batches += 1;
      for (const sequence of batch) {
        expect(sequence.prompts).toEqual([`${padding} ${ids.length}`, 'é ✓ 𝄞']);
        ids.push(sequence.id);
      }
    }
    expect(ids).toEqual(lines.map((_, i) => `s${i}`));
    expect(batches).toBe(Math.ceil(count / 700));
  });

  it('refuses, when read for the store, a file that changed after it was validated', async () => {
    const file = path.join(dir, 'seq.jsonl');
    await writeFile(file, `${line('a', ['1'])}\n${line('b', ['2'])}\n`);
    const source = await openSuite(await suiteFor('seq.jsonl'));
    await writeFile(file, `${line('a', ['1'])}\n${line('b', ['changed'])}\n`);
    const read = async (): Promise<void> => {
      for await (const batch of source.sequences(10)) void batch;
    };
    await expect(read()).rejects.toThrow(/seq\.jsonl changed while it was read/);
  });

  it('finds duplicate ids among many lines, naming the first use', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => line(`q${i}`, ['p']));
    lines.push(line('q123', ['again']));
    await writeFile(path.join(dir, 'seq.jsonl'), lines.join('\n'));
    expect(await problemsOf(await suiteFor('seq.jsonl'))).toEqual([
      `${dir}/seq.jsonl:50001: id: duplicate sequence id "q123" (first used at ${dir}/seq.jsonl:124, id)`,
    ]);
  });

  it('keeps the first problems of a file of bad lines and counts the rest', async () => {
    await writeFile(path.join(dir, 'seq.jsonl'), '{"id": 1}\n'.repeat(5000));
    try {
      await openSuite(await suiteFor('seq.jsonl'));
      throw new Error('expected problems');
    } catch (error) {
      const suiteError = error as SuiteError;
      expect(suiteError.problems.length + suiteError.moreProblems).toBeGreaterThanOrEqual(5000);
      expect(suiteError.problems.length).toBeLessThanOrEqual(1000);
      expect(suiteError.message).toMatch(/… and \d+ more problems$/);
    }
  });
});

describe('what a sequences file must be', () => {
  it('refuses invalid UTF-8 with the file, line, column and byte offset, never replacing it', async () => {
    const good = `${line('a', ['fine'])}\n`;
    const bad = Buffer.concat([
      Buffer.from('{"id": "b", "prompts": ["caf'),
      Buffer.from([0xe9]), // Latin-1 é: not UTF-8
      Buffer.from('"]}\n'),
    ]);
    await writeFile(path.join(dir, 'seq.jsonl'), Buffer.concat([Buffer.from(good), bad]));
    const offset = Buffer.byteLength(good) + '{"id": "b", "prompts": ["caf'.length;
    expect(await problemsOf(await suiteFor('seq.jsonl'))).toEqual([
      `${dir}/seq.jsonl:2:29: invalid UTF-8 at byte offset ${offset} of the file: expected UTF-8 text, found byte 0xe9`,
    ]);
  });

  it('finds the first ill-formed byte: truncated, overlong, surrogate, beyond U+10FFFF', () => {
    expect(firstInvalidUtf8(Buffer.from('ok é ✓ 𝄞'))).toBe(Buffer.byteLength('ok é ✓ 𝄞'));
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x9c]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xf4, 0x90, 0x80, 0x80]))).toBe(2);
    expect(firstInvalidUtf8(Buffer.from([0x80]))).toBe(0);
  });

  it('refuses a FIFO without waiting for a writer, exit 2 from validate', async () => {
    const fifo = path.join(dir, 'seq.jsonl');
    execFileSync('mkfifo', [fifo]);
    const suitePath = await suiteFor('seq.jsonl');
    expect(await problemsOf(suitePath)).toEqual([
      `${suitePath}:5:16: sequencesFile: cannot read "${dir}/seq.jsonl": it is a FIFO (named pipe), expected a regular file`,
    ]);
    const result = await runCli(['validate', suitePath]);
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr).toContain('it is a FIFO (named pipe), expected a regular file');
  });

  it('refuses a device (/dev/zero) and a directory', async () => {
    const suitePath = await suiteFor('/dev/zero');
    expect(await problemsOf(suitePath)).toEqual([
      `${suitePath}:5:16: sequencesFile: cannot read "/dev/zero": it is a character device, expected a regular file`,
    ]);
    const result = await runCli(['validate', suitePath]);
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr).toContain('"/dev/zero": it is a character device, expected a regular file');
    await writeFile(suitePath, SUITE.replace('SEQUENCES', '.'));
    expect(await problemsOf(suitePath)).toEqual([
      `${suitePath}:5:16: sequencesFile: cannot read "${dir}": it is a directory, expected a regular file`,
    ]);
  });

  it('refuses a file over the size cap before reading it (a sparse file)', async () => {
    const file = path.join(dir, 'seq.jsonl');
    const handle = await open(file, 'w');
    await handle.truncate(MAX_SEQUENCES_FILE_BYTES + 1);
    await handle.close();
    const suitePath = await suiteFor('seq.jsonl');
    expect(await problemsOf(suitePath)).toEqual([
      `${suitePath}:5:16: sequencesFile: cannot read "${dir}/seq.jsonl": it is 2147483649 bytes, over the limit of 2147483648 bytes (2 GiB) for a sequences file`,
    ]);
  });

  it('refuses a line over the line cap and goes on with the next one', async () => {
    const huge = line('big', ['a'.repeat(17 * 1024 * 1024)]);
    await writeFile(path.join(dir, 'seq.jsonl'), `${huge}\n{"id": "x"}\n`);
    expect(await problemsOf(await suiteFor('seq.jsonl'))).toEqual([
      `${dir}/seq.jsonl:1: line of 17 MiB, over the limit of 16 MiB for one sequence`,
      `${dir}/seq.jsonl:2: prompts: missing (expected a list of 1 to 1 000 non-blank prompts (strings, or { prompt, expect }))`,
    ]);
    expect(existsSync(path.join(dir, 'seq.jsonl'))).toBe(true);
  });
});
