# Benchmark variant "conventional": Docker's Rust guide (`docker init`) build step kept
# in one stage: sources bind-mounted, target/ and the cargo registry as cache mounts,
# a non-root user with UID 10001, exec-form CMD.
FROM imagespec-test/rust:bookworm
WORKDIR /app
RUN --mount=type=bind,source=src,target=src \
    --mount=type=bind,source=Cargo.toml,target=Cargo.toml \
    --mount=type=bind,source=Cargo.lock,target=Cargo.lock \
    --mount=type=cache,target=/app/target/ \
    --mount=type=cache,target=/root/.cargo/registry/ \
    cargo build --locked --offline --release && cp ./target/release/rsvc /bin/server
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser
USER appuser
EXPOSE 18085
CMD ["/bin/server", "127.0.0.1:18085"]
