# Benchmark variant "conventional": in the style of Docker's own language guides
# (`docker init`): one stage on the language image, dependencies downloaded in their own
# step with bind and cache mounts, a non-root user with UID 10001, exec-form entrypoint.
FROM imagespec-test/golang:bookworm
WORKDIR /src
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    go mod download -x
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 go build -o /bin/server ./cmd/server
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser
USER appuser
EXPOSE 18081
ENTRYPOINT ["/bin/server", "--listen", "127.0.0.1:18081"]
