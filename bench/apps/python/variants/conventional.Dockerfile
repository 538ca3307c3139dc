# Benchmark variant "conventional": Docker's Python guide (`docker init` template) on
# the Python image: a non-root user with UID 10001, dependencies installed with a pip
# cache mount and requirements.txt bind-mounted, then the source, and the guide's
# shell-form CMD. Debian's Python refuses `pip install` into the system (PEP 668), so
# dependencies go into a virtualenv on PATH. The proxy CA is a BuildKit secret (as for
# every variant on this machine).
FROM imagespec-test/python:bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
ARG UID=10001
RUN useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --uid "${UID}" appuser
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=requirements.txt,target=requirements.txt \
    --mount=type=secret,id=ca-bundle \
    PIP_CERT=/run/secrets/ca-bundle python -m pip install -r requirements.txt
USER appuser
COPY . .
ENV PORT=18082
EXPOSE 18082
CMD python3 app/server.py
