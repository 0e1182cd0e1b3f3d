/**
 * One environment for the tests of a file: `perFile(() => syncTestEnv({...}))` starts it in
 * beforeAll, closes it (or drops it: a TestDatabase) in afterAll, and returns an object that stands
 * for it meanwhile (reading it before beforeAll ran throws, naming the property). `close`, when
 * given, ends it instead. Replaces the `let env; beforeAll(...); afterAll(...)` block every
 * integration file would otherwise repeat.
 */
import { afterAll, beforeAll } from 'vitest';

type Closable = { close(): Promise<void> } | { drop(): Promise<void> };

export function perFile<T extends Closable>(start: () => Promise<T>, close?: (env: T) => Promise<void>): T {
  let env: T | undefined;
  beforeAll(async () => {
    env = await start();
  });
  afterAll(async () => {
    if (env) await (close ? close(env) : 'close' in env ? env.close() : env.drop());
  });
  return new Proxy({} as T, {
    get(_, key) {
      if (!env) throw new Error(`test environment read (${String(key)}) before beforeAll started it`);
      const value = Reflect.get(env, key);
      return typeof value === 'function' ? value.bind(env) : value;
    },
    set(_, key, value) {
      if (!env) throw new Error(`test environment written (${String(key)}) before beforeAll started it`);
      return Reflect.set(env, key, value);
    },
  });
}
