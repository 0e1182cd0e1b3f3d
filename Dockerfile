# wxsync image: production dependencies only, runs as the unprivileged `node` user.
# test/deploy/dockerfile.test.ts replays these steps in a scratch folder (no Docker engine needed),
# so every RUN here must work with exactly the files copied before it.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# `npm ci` runs the postinstall `prisma generate`: it needs the schema, prisma.config.ts and what
# that config imports before the install, or the CLI falls back to downloading a native engine.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY src/db/pg-config.ts ./src/db/pg-config.ts
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY jobs ./jobs

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, read-only for the process: the app cannot rewrite its own code.
COPY --from=build /app/package.json /app/package-lock.json /app/prisma.config.ts /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/jobs ./jobs
USER node
# The server listens on 3000 inside the container whatever .env says (compose pins PORT).
ENV PORT=3000
EXPOSE 3000
ENTRYPOINT ["node", "bin/wxsync.mjs"]
CMD ["serve"]
