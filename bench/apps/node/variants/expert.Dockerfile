# Benchmark variant "expert": what a container expert writes by hand for this app:
# production dependencies from the lockfile alone (BP4), copied with the source onto
# the Node.js runtime without npm, run as non-root (BP6, BP8). The proxy CA is a
# BuildKit secret (as for every variant on this machine).
FROM imagespec-test/node:bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=ca-bundle \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle npm ci --omit=dev --no-audit --no-fund

FROM imagespec-test/node-slim:bookworm
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY package.json server.js ./
ENV NODE_ENV=production PORT=18083
USER 65532:65532
EXPOSE 18083
ENTRYPOINT ["node", "/app/server.js"]
