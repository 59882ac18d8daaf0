// Preloaded into Portkey's gateway (node --require): its start-server.js calls Hono's
// serve({fetch, port}) without a hostname, so Node would listen on every interface. Every
// server this process opens listens on 127.0.0.1 only.
"use strict";
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
    if (args.length < 2 || args[1] === undefined || typeof args[1] === "string") {
      args[1] = "127.0.0.1";
    } else if (typeof args[1] === "function" || typeof args[1] === "number") {
      args.splice(1, 0, "127.0.0.1");
    }
  } else if (args[0] !== null && typeof args[0] === "object" && !(args[0] instanceof net.Server)) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
