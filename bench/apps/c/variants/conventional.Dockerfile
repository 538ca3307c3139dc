# Benchmark variant "conventional": one stage on the toolchain image as Docker's guides
# write it (there is no C guide; this follows the others): sources copied, built in the
# image, a non-root user with UID 10001, exec-form entrypoint. No dependencies to cache.
FROM imagespec-test/gcc:bookworm
WORKDIR /src
COPY Makefile server.c ./
RUN make cstatus && install -m 0755 cstatus /usr/local/bin/cstatus
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser
USER appuser
ENV TZ=Europe/Paris
EXPOSE 18084
ENTRYPOINT ["/usr/local/bin/cstatus", "127.0.0.1", "18084"]
