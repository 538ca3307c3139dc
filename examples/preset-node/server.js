// A small HTTP service; handles SIGTERM itself, because as PID 1 node would not (BP2).
"use strict";
const http = require("http");
const ms = require("ms");

const started = Date.now();
const server = http.createServer((req, res) => {
  res.end(`hello from preset-node, uid ${process.getuid()}, up ${ms(Date.now() - started)}\n`);
});
server.listen(Number(process.env.PORT || 8080), process.env.HOST || "127.0.0.1", () => {
  console.log(`listening on ${JSON.stringify(server.address())}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();  // an idle keep-alive connection would hold the exit (Node 18.2+)
  });
}
