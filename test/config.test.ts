import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, loadConfig } from '../src/config.ts';
import { TEST_WECHAT } from './support/env.ts';

const valid = { DATABASE_URL: 'postgresql://u:pw@127.0.0.1:5432/db', ...TEST_WECHAT };

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.WECHAT_API_BASE).toBe('https://api.weixin.qq.com');
    expect(config.PORT).toBe(3000);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.CRON_TIMEZONE).toBe('Asia/Shanghai');
  });

  it('treats an empty EncodingAESKey as unset (plaintext mode only)', () => {
    expect(loadConfig({ ...valid, WECHAT_ENCODING_AES_KEY: '' }).WECHAT_ENCODING_AES_KEY).toBeUndefined();
  });

  it('names every missing variable', () => {
    const problems = problemsOf({});
    for (const name of ['DATABASE_URL', 'WECHAT_APP_ID', 'WECHAT_APP_SECRET', 'WECHAT_TOKEN']) {
      expect(problems).toContain(`${name}: required`);
    }
  });

  it('rejects invalid values without echoing them', () => {
    const secretish = 'not-a-valid-secret-but-still-private';
    const env = {
      ...valid,
      WECHAT_APP_SECRET: secretish,
      WECHAT_ENCODING_AES_KEY: `${secretish}!`,
      DATABASE_URL: `mysql://${secretish}@h/db`,
      PORT: '99999',
    };
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('WECHAT_APP_SECRET');
    expect(message).toContain('WECHAT_ENCODING_AES_KEY');
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('PORT');
    expect(message).not.toContain(secretish);
  });

  it('lets a command validate only what it needs', () => {
    const dbOnly = ConfigSchema.pick({ DATABASE_URL: true });
    expect(loadConfig({ DATABASE_URL: valid.DATABASE_URL }, dbOnly)).toEqual({
      DATABASE_URL: valid.DATABASE_URL,
    });
  });
});
