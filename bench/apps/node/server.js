// nsvc: a small Express service. It handles SIGTERM itself: as PID 1, node would
// otherwise ignore the signal and `docker stop` would wait out the grace period (BP2).
"use strict";
const express = require("express");
const ms = require("ms");

const started = Date.now();
const app = express();
app.disable("x-powered-by");
app.get("/", (req, res) => {
  res.json({ service: "nsvc", uid: process.getuid(), uptime: ms(Date.now() - started) });
});
app.get("/healthz", (req, res) => res.type("text/plain").send("ok\n"));

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8080);
const server = app.listen(port, host, () => console.log(`nsvc listening on ${host}:${port}`));

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
