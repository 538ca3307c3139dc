"""pysvc: a small Flask app served by waitress (both from PyPI).

It stops cleanly on SIGTERM: as PID 1 Python would otherwise ignore the signal and
`docker stop` would wait out its grace period (BP2).
"""

import os
import signal
import sys
import time

from flask import Flask, jsonify, render_template_string
from waitress import serve

app = Flask(__name__)
STARTED = time.monotonic()
PAGE = "<h1>pysvc</h1><p>Hello {{ name }}, from uid {{ uid }}.</p>"


@app.get("/")
def index():
    return jsonify(service="pysvc", uid=os.getuid(), uptime_s=round(time.monotonic() - STARTED, 3))


@app.get("/hello/<name>")
def hello(name: str):
    return render_template_string(PAGE, name=name, uid=os.getuid())  # autoescaped by Jinja


@app.get("/healthz")
def healthz():
    return "ok\n"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    print(f"pysvc listening on {host}:{port}", flush=True)
    serve(app, host=host, port=port, threads=4)


if __name__ == "__main__":
    main()
