# Benchmark variant "naive": the mistakes BEST-PRACTICES.md warns about, written the way
# they are usually written. Single stage on the toolchain image; `apt-get update` in its
# own RUN (BP5); the whole context copied before building (BP4); the build packages
# purged in a later RUN, which does not shrink the image (BP11); shell-form CMD, so
# /bin/sh is PID 1 and SIGTERM never reaches the app (BP2); runs as root (BP8).
FROM imagespec-test/golang:bookworm
RUN apt-get update
RUN apt-get install -y curl
WORKDIR /app
COPY . .
RUN go build -o /usr/local/bin/server ./cmd/server
RUN apt-get purge -y golang-go && apt-get autoremove -y
EXPOSE 18081
CMD /usr/local/bin/server --listen 127.0.0.1:18081
