// A small HTTP service; handles SIGTERM itself, because as PID 1 node would not (BP2).
"use strict";
const http = require("http");
const ms = require("ms");

const started = Date.now();
const server = http.createServer((req, res) => {
  res.end(`hello from node-app, uid ${process.getuid()}, up ${ms(Date.now() - started)}\n`);
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || "127.0.0.1", () => {
  console.log(`listening on ${JSON.stringify(server.address())}`);
});
// close() waits for every open connection: an idle keep-alive one (a load balancer's, a
// browser's) would hold the exit until SIGKILL, so those are closed at once (Node 18.2+)
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
