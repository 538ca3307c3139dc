# Benchmark variant "naive" (see go/variants/naive.Dockerfile for the list of mistakes):
# single stage on the Node image, `apt-get update` alone, everything copied before
# `npm install` (dev dependencies and all), npm purged in a later RUN (BP11),
# shell-form CMD (BP2), root (BP8). npm reaches its registry through a TLS-inspecting
# proxy here, so the proxy's CA is mounted as a BuildKit secret (the one concession).
FROM imagespec-test/node:bookworm
RUN apt-get update
RUN apt-get install -y curl
WORKDIR /app
COPY . .
RUN --mount=type=secret,id=ca-bundle \
    NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle npm install --no-audit --no-fund
RUN apt-get purge -y npm && apt-get autoremove -y
ENV PORT=18083
EXPOSE 18083
CMD node server.js
