# Benchmark variant "expert": what a container expert writes by hand for this std-only
# app: glibc's C runtime linked statically (crt-static; fine without crates that need
# NSS) and the binary alone on scratch, run as a numeric non-root user (BP7, BP8,
# BP10). The app handles SIGTERM itself, so no init. The size yardstick of bench/defaults.py.
FROM imagespec-test/rust:bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
RUN RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --offline

FROM scratch
COPY --from=build /src/target/release/rsvc /rsvc
USER 65532:65532
EXPOSE 18085
ENTRYPOINT ["/rsvc", "127.0.0.1:18085"]
