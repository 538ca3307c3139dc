# Benchmark variant "expert": what a container expert writes by hand for this app: the
# program linked statically and copied alone onto scratch, run as a numeric non-root
# user (BP7, BP8, BP10). The size yardstick of bench/defaults.py.
FROM imagespec-test/gcc:bookworm AS build
WORKDIR /src
COPY Makefile server.c ./
RUN make cstatus

FROM scratch
COPY --from=build /src/cstatus /cstatus
USER 65532:65532
EXPOSE 18084
ENTRYPOINT ["/cstatus", "127.0.0.1", "18084"]
