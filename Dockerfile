FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx prisma generate
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/wxsync.mjs"]
CMD ["serve"]
