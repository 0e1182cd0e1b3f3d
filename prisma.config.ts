// Prisma CLI configuration. Uses the JavaScript schema engine through @prisma/adapter-pg so that
// `prisma generate` and `prisma migrate deploy` need no native engine download (the binary host is
// unreachable from our machines). See README "Prisma offline".
import 'dotenv/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';
import { pgConfigFromUrl } from './src/db/pg-config.ts';

// `prisma generate` never connects, but with DATABASE_URL unset the 6.19 CLI falls back to the native
// engine and tries to download it; a placeholder keeps it on the JS engine. Migrate commands do
// connect, so they still need the real DATABASE_URL (from the environment or .env).
process.env.DATABASE_URL ??= 'postgresql://unset-database-url.invalid/wxsync';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  async adapter() {
    return new PrismaPg(pgConfigFromUrl(process.env.DATABASE_URL as string));
  },
});
