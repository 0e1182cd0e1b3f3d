/** Made-up credentials for tests: the real account's values never appear in the repository. */
export const TEST_WECHAT = {
  WECHAT_APP_ID: 'wx0123456789abcdef',
  WECHAT_APP_SECRET: 'testsecret0123456789abcdef012345',
  WECHAT_TOKEN: 'testtoken123',
  WECHAT_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
} as const;

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
