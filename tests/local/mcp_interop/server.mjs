// An MCP server built on the official TypeScript SDK (@modelcontextprotocol/sdk, Streamable
// HTTP transport, stateful sessions), for mcp_interop_test.cc: the local engine's agent loop
// must list and call its tools the way it does Databricks' managed servers.
//
//   node server.mjs [--json]
//
// Listens on 127.0.0.1 on an ephemeral port and prints exactly one line once bound:
//   mcp-interop-server listening on http://127.0.0.1:PORT/mcp
// `--json` makes the transport answer requests with one JSON body instead of an SSE stream
// (the SDK's enableJsonResponse). Requests to /mcp may carry `Authorization: Bearer <token>`;
// a malformed Authorization is refused (401). GET /calls answers the JSON-RPC requests and notifications seen so far, oldest
// first: [{method, session_id, protocol_version, accept, tool}]. SIGTERM/SIGINT stop it, and
// so does its parent's exit.
//
// Tools:
//   word_stats {question}   -> text: word and letter counts of `question`, its longest word,
//                              the SDK version, and the last 4 characters of the caller's
//                              token or "without a token"
//   always_fails {question} -> throws; the SDK turns that into an isError result
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const kSdkPackage = new URL("./node_modules/@modelcontextprotocol/sdk/package.json",
                            import.meta.url);
const kSdkVersion = JSON.parse(fs.readFileSync(kSdkPackage, "utf8")).version;
const kMaxBody = 1 << 20;
const jsonMode = process.argv.includes("--json");

const calls = [];
const transports = new Map();  // Mcp-Session-Id -> transport

function wordStats(question, token) {
  const words = question.split(/\s+/).filter(Boolean);
  const letters = (question.match(/[A-Za-z]/g) || []).length;
  const longest = words.reduce((best, w) => (w.length > best.length ? w : best), "");
  return `${words.length} words, ${letters} letters, longest "${longest}"; ` +
         `counted by MCP SDK ${kSdkVersion} ` +
         (token ? `for a token ending in "${token.slice(-4)}"` : "without a token");
}

// One McpServer per session, as the SDK's stateful examples do.
function newServer() {
  const server = new McpServer({ name: "mcp-interop-server", version: "1.0.0" });
  server.registerTool("word_stats", {
    description: "Counts the words and letters of a question",
    inputSchema: { question: z.string() },
  }, async ({ question }, extra) => ({
    content: [{ type: "text", text: wordStats(question, extra.authInfo?.token ?? "") }],
  }));
  server.registerTool("always_fails", {
    description: "A tool that always fails",
    inputSchema: { question: z.string() },
  }, async () => {
    throw new Error("always_fails cannot answer: the index is offline");
  });
  return server;
}

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > kMaxBody) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function handleMcp(req, res) {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    if (!auth.startsWith("Bearer ") || auth.length <= 7) {
      return reply(res, 401, { error: "a malformed bearer token" },
                   { "WWW-Authenticate": "Bearer" });
    }
    // The SDK hands `req.auth` to tool callbacks as extra.authInfo.
    req.auth = { token: auth.slice(7), clientId: "interop-test", scopes: [] };
  }
  const sessionId = req.headers["mcp-session-id"];
  let body;
  if (req.method === "POST") {
    try {
      body = JSON.parse(await readBody(req));
    } catch (e) {
      return reply(res, 400, { jsonrpc: "2.0", id: null,
                               error: { code: -32700, message: `Parse error: ${e.message}` } });
    }
    calls.push({
      method: body?.method ?? "",
      session_id: sessionId ?? "",
      protocol_version: req.headers["mcp-protocol-version"] ?? "",
      accept: req.headers.accept ?? "",
      tool: body?.method === "tools/call" ? body?.params?.name ?? "" : "",
    });
  }
  let transport = sessionId ? transports.get(sessionId) : undefined;
  if (!transport) {
    if (sessionId || req.method !== "POST" || !isInitializeRequest(body)) {
      return reply(res, sessionId ? 404 : 400, {
        jsonrpc: "2.0", id: null,
        error: { code: sessionId ? -32001 : -32000,
                 message: sessionId ? "Session not found" : "No session: initialize first" },
      });
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: jsonMode,
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer((req, res) => {
  const path = new URL(req.url, "http://localhost").pathname;
  if (path === "/calls" && req.method === "GET") return reply(res, 200, calls);
  if (path !== "/mcp") return reply(res, 404, { error: `no route ${path}` });
  handleMcp(req, res).catch((e) => {
    process.stderr.write(`mcp-interop-server: ${e.stack || e}\n`);
    if (!res.headersSent) reply(res, 500, { error: String(e.message || e) });
    else res.end();
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(`mcp-interop-server listening on http://127.0.0.1:${port}/mcp\n`);
});

function stop() {
  for (const transport of transports.values()) transport.close().catch(() => {});
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// A test that crashed cannot stop us: leave when the parent is gone (we get re-parented).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 500).unref();
