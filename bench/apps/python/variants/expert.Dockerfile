# Benchmark variant "expert": what a container expert writes by hand for this app: a
# venv made by the runtime's own interpreter from requirements.txt alone (BP4), without
# pip in it, copied with the source onto the shell-less Python runtime (BP6, BP7, BP10).
# The proxy CA is a BuildKit secret (as for every variant on this machine).
FROM imagespec-test/python:bookworm AS venv
RUN python3 -m venv --without-pip /opt/venv
COPY requirements.txt /tmp/
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=ca-bundle \
    PIP_CERT=/run/secrets/ca-bundle pip --python /opt/venv/bin/python3 install --no-compile -r /tmp/requirements.txt

FROM imagespec-test/python-distroless:nonroot
COPY --from=venv /opt/venv /opt/venv
COPY app/ /app/
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=18082
USER 65532:65532
EXPOSE 18082
ENTRYPOINT ["/opt/venv/bin/python3", "/app/server.py"]
