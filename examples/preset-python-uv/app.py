"""A small web app: escapes its query with markupsafe (locked by uv) and stops
cleanly on SIGTERM (BP2: as PID 1, Python would otherwise ignore it)."""

import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from markupsafe import escape


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        name = parse_qs(urlparse(self.path).query).get("name", ["world"])[0]
        body = f"<p>hello {escape(name)} from preset-python-uv, uid {os.getuid()}</p>\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8080"))), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {server.server_address}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
