// A held-out app as a stranger writes it (#12): `npm init` left "main": "index.js", the
// code lives in src/, `npm start` runs it, and nothing handles SIGTERM.
const http = require("http");
const ms = require("ms");
const port = process.env.PORT || 3000;
http.createServer((req, res) => res.end(`up ${ms(1000)}\n`)).listen(port, "127.0.0.1", () => {
  console.log(`listening on ${port}`);
});
