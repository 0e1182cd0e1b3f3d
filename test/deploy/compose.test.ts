/**
 * docker-compose.yml, checked as text (no compose engine on our machines): the container port is
 * pinned whatever .env says, the host side comes from its own variables (loopback by default: the
 * admin area shares the listener with /wx), the healthcheck probes the pinned port, and no service
 * has a password that works by default (compose refuses to start without them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const compose = readFileSync(join(import.meta.dirname, '..', '..', 'docker-compose.yml'), 'utf8');

/** The lines of one top-level service block. */
function service(name: string): string {
  const match = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\n)*)`, 'm').exec(compose);
  if (!match) throw new Error(`no service ${name}`);
  return match[1]!;
}

describe('docker-compose.yml', () => {
  it('pins the server to port 3000 in its container; .env PORT=80 cannot move it', () => {
    // `environment` wins over `env_file` in compose: the shared block pins PORT for every service.
    expect(compose).toMatch(/&services-env\n(?:\s{6}.*\n)*?\s{6}PORT: "3000"\n/);
    const server = service('server');
    expect(server).toMatch(/environment: \*services-env/);
    expect(server).toContain(`ports: ["\${WXSYNC_HTTP_BIND:-127.0.0.1}:\${WXSYNC_HTTP_PORT:-3000}:3000"]`);
    expect(server).toContain("fetch('http://127.0.0.1:3000/healthz')");
    expect(server).not.toMatch(/\$\{PORT/);
  });

  it('has no default password: PostgreSQL and Redis need theirs set, Redis asks for it', () => {
    expect(compose).not.toMatch(/PASSWORD:-/);
    expect(service('postgres')).toContain('POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?');
    const redis = service('redis');
    expect(redis).toMatch(/- --requirepass\n\s+- \$\{REDIS_PASSWORD:\?/);
    expect(redis).toContain('REDISCLI_AUTH: ${REDIS_PASSWORD:?');
    expect(compose).toContain('REDIS_URL: redis://:${REDIS_PASSWORD:?');
    expect(compose).toContain('DATABASE_URL: postgresql://wxsync:${POSTGRES_PASSWORD:?');
  });

  it('publishes nothing on a public address by default', () => {
    for (const match of compose.matchAll(/ports: \[(.*)\]/g)) {
      expect(match[1]).toMatch(/^"(127\.0\.0\.1|\$\{WXSYNC_HTTP_BIND:-127\.0\.0\.1\}):/);
    }
  });
});
