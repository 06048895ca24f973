// The browser tests' machinery: the supervisor-emulator and agent-gateway binaries as child
// processes on ephemeral loopback ports (their stdout banners name the ports), Debian's
// Chromium driven by playwright-core, and a scenario runner that fails a scenario on any
// console error or uncaught page error and saves a PNG for each named state.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const kChromium = "/usr/bin/chromium";
const kStartTimeoutMs = 30000;

// Starts `binary args...` and resolves once `banner` (a RegExp) matches its stdout; the match
// is returned with the process. Rejects with the output when the process exits or stays silent.
function startProcess(name, binary, args, banner, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${name} did not start (${why})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no banner in ${kStartTimeoutMs} ms`), kStartTimeoutMs);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = banner.exec(stdout);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, match, stderr: () => stderr });
      }
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    child.on("error", (e) => fail(e.message));
    child.on("exit", (code, signal) => fail(`exited with ${signal || code}`));
  });
}

// Stops a child with SIGTERM (SIGKILL after 20 s); resolves with its exit code or signal.
function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? child.signalCode);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    child.kill("SIGTERM");
  });
}

export class Stack {
  static async start({ gatewayBinary, emulatorBinary, yaml }) {
    const stack = new Stack();
    stack.dir = fs.mkdtempSync(path.join(os.tmpdir(), "ag-browser-"));
    const env = { ...process.env, AGENT_GATEWAY_LOG_LEVEL: "warning" };
    for (const key of Object.keys(env)) {
      if (key.startsWith("DATABRICKS_") || key.startsWith("AGENTGATEWAY_")) delete env[key];
    }
    const emulator = await startProcess(
        "supervisor-emulator", emulatorBinary, ["--listen", "127.0.0.1:0"],
        /listening on (http:\/\/127\.0\.0\.1:\d+)/, env);
    stack.emulator = emulator.child;
    stack.emulatorUrl = emulator.match[1];
    const config = path.join(stack.dir, "gateway.yaml");
    fs.writeFileSync(config,
                     `upstream:\n  base_url: ${stack.emulatorUrl}/ai-gateway/mlflow/v1\n${yaml}`);
    try {
      const gateway = await startProcess(
          "agent-gateway", gatewayBinary,
          ["--config", config, "--http-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"],
          /chat page : (http:\/\/127\.0\.0\.1:\d+)\/[\s\S]*identity  :/, env);
      stack.gateway = gateway.child;
      stack.gatewayLog = gateway.stderr;
      stack.url = gateway.match[1] + "/";
    } catch (e) {
      await stopProcess(stack.emulator);
      throw e;
    }
    return stack;
  }

  async emulatorJson(method, route, body) {
    const response = await fetch(this.emulatorUrl + route, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  async counter(name) {
    const { body } = await this.emulatorJson("GET", "/emulator/stats");
    return body[name];
  }

  // The emulator's long poll: true once counter >= value (within timeoutMs).
  async waitCounter(name, value, timeoutMs = 10000) {
    const { status } = await this.emulatorJson(
        "GET", `/emulator/wait?counter=${name}&value=${value}&timeout_ms=${timeoutMs}`);
    return status === 200;
  }

  async stop() {
    const results = {};
    if (this.gateway) results.gateway = await stopProcess(this.gateway);
    if (this.emulator) results.emulator = await stopProcess(this.emulator);
    fs.rmSync(this.dir, { recursive: true, force: true });
    return results;
  }
}

export async function launchBrowser() {
  if (!fs.existsSync(kChromium)) {
    throw new Error(`${kChromium} is missing: install Debian's chromium (scripts/setup.sh)`);
  }
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch (e) {
    throw new Error("playwright-core is not installed: run `bash tests/browser/setup.sh` " +
                    "(scripts/setup.sh runs it)\n" + e.message);
  }
  // Playwright gives the browser a fresh, empty profile directory of its own.
  return chromium.launch({
    executablePath: kChromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export function assert(condition, message) {
  if (!condition) throw new Error("assertion failed: " + message);
}

export function assertEqual(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`assertion failed: ${message}\n  expected: ${e}\n  actual:   ${a}`);
}

// Runs scenarios one after the other, each in a fresh browser context.
export class Runner {
  constructor({ browser, artifacts }) {
    this.browser = browser;
    this.artifacts = artifacts;
    this.results = [];
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts)) {
      if (f.endsWith(".png")) fs.rmSync(path.join(artifacts, f));
    }
  }

  async run(name, options, body) {
    const started = Date.now();
    const context = await this.browser.newContext({
      viewport: { width: 1100, height: 760 },
      ...options.context,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    const problems = [];
    const allowed = options.allowConsole || [];
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const text = message.text();
      if (allowed.some((re) => re.test(text))) return;
      problems.push("console error: " + text);
    });
    page.on("pageerror", (error) => problems.push("page error: " + error.message));
    const requests = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && /\/invocations$/.test(new URL(request.url()).pathname)) {
        requests.push({ url: request.url(), body: JSON.parse(request.postData() || "null") });
      }
    });
    const shot = async (file, shotOptions = {}) => {
      await page.screenshot({ path: path.join(this.artifacts, file), ...shotOptions });
    };
    let error = null;
    try {
      await body({ page, context, requests, shot });
      // Let the page finish its current frame, so late errors are seen too.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
      if (problems.length) throw new Error(problems.join("\n"));
    } catch (e) {
      error = problems.length && !e.message.includes(problems[0])
          ? new Error(e.message + "\n" + problems.join("\n"), { cause: e }) : e;
      if (error !== e) error.stack = error.message + "\n" + e.stack;
      await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, "-")}.png`).catch(() => {});
    } finally {
      await context.close();
    }
    const ms = Date.now() - started;
    this.results.push({ name, error });
    if (error) {
      console.log(`not ok - ${name} (${ms} ms)\n${String(error.stack || error).replace(/^/gm, "    ")}`);
    } else {
      console.log(`ok - ${name} (${ms} ms)`);
    }
  }

  summary() {
    const failed = this.results.filter((r) => r.error).length;
    console.log(`${this.results.length - failed} passed, ${failed} failed`);
    return failed;
  }
}
