# Benchmark variant "expert": what a container expert writes by hand for this app: the
# module files first (BP4), a static binary (CGO_ENABLED=0, stripped, -trimpath), and on
# scratch nothing but that binary and the CA bundle for outgoing TLS, run as a numeric
# non-root user (BP7, BP8, BP10). The size yardstick of bench/defaults.py.
FROM imagespec-test/golang:bookworm AS build
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY cmd/ cmd/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/server /server
USER 65532:65532
EXPOSE 18081
ENTRYPOINT ["/server", "--listen", "127.0.0.1:18081"]
