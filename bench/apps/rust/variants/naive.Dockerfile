# Benchmark variant "naive" (see go/variants/naive.Dockerfile for the list of mistakes):
# single stage on the toolchain image, `apt-get update` alone, the usual "Rust needs
# OpenSSL" packages, the toolchain purged in a later RUN (BP11), shell-form CMD (BP2),
# root (BP8).
FROM imagespec-test/rust:bookworm
RUN apt-get update
RUN apt-get install -y pkg-config libssl-dev
WORKDIR /app
COPY . .
RUN cargo build --release --offline
RUN apt-get purge -y cargo rustc && apt-get autoremove -y
EXPOSE 18085
CMD ./target/release/rsvc 127.0.0.1:18085
