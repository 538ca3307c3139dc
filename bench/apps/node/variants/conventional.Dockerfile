# Benchmark variant "conventional": Docker's Node.js guide (`docker init` template) on
# the Node image: production dependencies with `npm ci`, package files bind-mounted and
# the npm cache as a cache mount, a non-root user (UID 10001: this base has no "node"
# user), then the source, and the guide's shell-form CMD. The proxy CA is a BuildKit
# secret (as for every variant on this machine).
FROM imagespec-test/node:bookworm
ENV NODE_ENV=production
WORKDIR /usr/src/app
RUN --mount=type=bind,source=package.json,target=package.json \
    --mount=type=bind,source=package-lock.json,target=package-lock.json \
    --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=ca-bundle \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle npm ci --omit=dev --no-audit --no-fund
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser
USER appuser
COPY . .
ENV PORT=18083
EXPOSE 18083
CMD node server.js
