import { describe, expect, it } from 'vitest';
import { parseStoreUrl } from '../../src/coordination/config.js';
import { sharedLimitsReader } from '../../src/suite/shared-limits-reader.js';
import { Checker, formatPath } from '../../src/suite/schema-check.js';

function read(value: unknown) {
  const check = new Checker();
  const config = sharedLimitsReader.read(check, value, ['providers', 'oai', 'sharedLimits']);
  return { config, problems: check.problems.map((p) => `${formatPath(p.path)}: ${p.message}`) };
}

describe('sharedLimits', () => {
  it('reads a url, a key and the name of the password variable', () => {
    expect(
      read({ url: 'redis://10.0.0.5:6380/2', key: 'org-openai', passwordEnv: 'REDIS_PASSWORD' }),
    ).toEqual({
      config: { url: 'redis://10.0.0.5:6380/2', key: 'org-openai', passwordEnv: 'REDIS_PASSWORD' },
      problems: [],
    });
    expect(parseStoreUrl('rediss://user@cache.example:7000/1')).toEqual({
      tls: true,
      host: 'cache.example',
      port: 7000,
      db: 1,
      username: 'user',
    });
    expect(parseStoreUrl('redis://127.0.0.1')).toMatchObject({ port: 6379, db: 0, tls: false });
  });

  it('names the field of each mistake, and never echoes a password', () => {
    const { problems } = read({
      url: 'redis://:hunter2@127.0.0.1:6379/0',
      key: 'a b',
      passwordEnv: 'hunter2!',
    });
    expect(problems).toEqual([
      'providers.oai.sharedLimits.url: the URL holds a password; put it in an environment variable and name it in passwordEnv',
      'providers.oai.sharedLimits.key: expected a key name (letters, digits, ".", "_", ":" or "-", at most 128 characters), found "a b"',
      'providers.oai.sharedLimits.passwordEnv: expected an environment variable name (letters, digits, "_"), not the key itself, found a string that is not a variable name (not shown)',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(read({ url: 'http://127.0.0.1:6379', key: 'k' }).problems).toEqual([
      'providers.oai.sharedLimits.url: expected a redis:// or rediss:// URL, found a http:// URL',
    ]);
    expect(read({ key: 'k', extra: 1 }).problems).toEqual([
      'providers.oai.sharedLimits.extra: unknown key (expected one of: url, key, passwordEnv)',
      'providers.oai.sharedLimits.url: missing (expected a redis:// or rediss:// URL without a password)',
    ]);
    expect(read({ url: 'redis://h/x', key: 'k' }).problems).toEqual([
      'providers.oai.sharedLimits.url: expected a database number after the host (redis://host:port/0), found "/x"',
    ]);
  });
});
