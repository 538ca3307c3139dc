# Benchmark variant "naive" (see go/variants/naive.Dockerfile for the list of mistakes):
# single stage on the Python image, `apt-get update` alone, a compiler "for native
# wheels", everything copied before pip, pip into the system (with its cache left in
# the layer), the build packages purged in a later RUN (BP11), shell-form CMD (BP2),
# root (BP8). pip reaches PyPI through a TLS-inspecting proxy here, so even this
# Dockerfile mounts the proxy's CA as a BuildKit secret (docker build --secret
# id=ca-bundle,src=...): that is the one concession to this machine.
FROM imagespec-test/python:bookworm
RUN apt-get update
RUN apt-get install -y gcc python3-dev
WORKDIR /app
COPY . .
RUN --mount=type=secret,id=ca-bundle \
    PIP_CERT=/run/secrets/ca-bundle pip3 install --break-system-packages -r requirements.txt
RUN apt-get purge -y gcc python3-dev && apt-get autoremove -y
ENV PORT=18082
EXPOSE 18082
CMD python3 app/server.py
