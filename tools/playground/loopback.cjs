// Preload for `node -r ./loopback.cjs`: every TCP server in the process binds 127.0.0.1 only.
//
// The Agents Playground calls `server.listen(port)` (all interfaces). This wraps
// net.Server.prototype.listen and rewrites the host of every TCP listen to 127.0.0.1,
// whatever the caller asked for. Unix-socket / pipe paths and handle objects pass through.
// Set PLAYGROUND_LOOPBACK_DEBUG=1 to log each rewrite on stderr.
"use strict";

const net = require("net");

const HOST = "127.0.0.1";
const debug = process.env.PLAYGROUND_LOOPBACK_DEBUG === "1";
const originalListen = net.Server.prototype.listen;

function isPort(value) {
  return (
    typeof value === "number" ||
    (typeof value === "string" && value !== "" && /^\d+$/.test(value))
  );
}

net.Server.prototype.listen = function loopbackListen(...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    // listen(options[, cb]) or listen(handle[, backlog][, cb])
    if (first.path === undefined && first._handle === undefined && first.fd === undefined &&
        (first.port !== undefined || first.host !== undefined)) {
      if (debug) console.error(`[loopback] listen(${JSON.stringify(first)}) -> host ${HOST}`);
      args[0] = { ...first, host: HOST, ipv6Only: false };
    }
  } else if (isPort(first) || first === undefined || first === null ||
             typeof first === "function") {
    // listen([port][, host][, backlog][, cb])
    const port = isPort(first) ? Number(first) : 0;
    const rest = isPort(first) ? args.slice(1) : args.slice(first === undefined || first === null ? 1 : 0);
    if (typeof rest[0] === "string") rest.shift(); // drop caller's host
    if (debug) console.error(`[loopback] listen(${port}) -> ${HOST}:${port}`);
    args = [port, HOST, ...rest];
  }
  // else: a string that is not a port number = unix socket / named pipe path: unchanged.
  return originalListen.apply(this, args);
};
