// The official OpenAI SDK for JavaScript (npm `openai`), unchanged, pointed at the gateway's
// Supervisor API drop-in route: code that called the Supervisor API with it changes only its
// base URL (issue 9, item 5). Starts supervisor-emulator and agent-gateway (a profile with
// agent_from_request, user identity) on ephemeral loopback ports, then with the SDK:
//   1. responses.create: the Genie tool round and the answer, run as the caller's token;
//   2. responses.create with stream: true: the SDK's own SSE parser reads the events;
//   3. a token without the tool's scope: the SDK raises its PermissionDeniedError (403).
//
//   node dropin_openai.mjs --gateway PATH --emulator PATH
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { Stack, assert, assertEqual } from "../../browser/harness.mjs";

const { values: args } = parseArgs({
  options: { gateway: { type: "string" }, emulator: { type: "string" } },
});
assert(args.gateway && args.emulator, "usage: --gateway PATH --emulator PATH");

const yaml = `identity:
  user_api_scopes: [ai-gateway, genie, model-serving]
default_profile: supervisor-api
profiles:
  supervisor-api:
    engine: local
    auth: user
    agent_from_request: true
`;
const request = {
  model: "databricks-claude-sonnet-4-5",
  input: [{ role: "user", content: "Ask query_space_01ef5a for sales by region" }],
  instructions: "You answer questions about sales.",
  tools: [{ type: "genie_space", genie_space: { id: "01ef5a", description: "Sales data" } }],
};

const stack = await Stack.start({
  gatewayBinary: args.gateway, emulatorBinary: args.emulator, yaml,
});
let failures = 0;
async function scenario(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${e.stack}`);
  }
}
async function token(scopes) {
  const { status, body } = await stack.emulatorJson(
      "POST", "/emulator/users/token", { user: "lin@example.com", scopes, format: "opaque" });
  assertEqual(status, 200, "the emulator mints a user token");
  return body.access_token;
}
function client(apiKey) {
  // What a Supervisor API caller has: its workspace token and the API's base URL, with the
  // gateway's origin in place of the workspace's.
  return new OpenAI({ apiKey, baseURL: `${stack.url}ai-gateway/mlflow/v1`, maxRetries: 0 });
}

try {
  const full = await token(["ai-gateway", "genie", "model-serving"]);

  await scenario("responses.create runs the tool round as the caller", async () => {
    const response = await client(full).responses.create(request);
    assertEqual(response.status, "completed", "status");
    assertEqual(response.output.map((item) => item.type).join(","),
                "function_call,function_call_output,message", "output items");
    assertEqual(response.output[0].name, "query_space_01ef5a", "the tool the model called");
    assert(String(response.output[1].output).includes("ran as user:lin@example.com"),
           `the tool ran as the caller: ${JSON.stringify(response.output[1])}`);
    assert(response.output_text.includes("Genie space 01ef5a found 3 rows"),
           `the SDK's output_text carries the answer: ${response.output_text}`);
  });

  await scenario("responses.create with stream: true, read by the SDK", async () => {
    const stream = await client(full).responses.create({ ...request, stream: true });
    const types = [];
    let text = "";
    let completed = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    assertEqual(types[0], "response.created", "first event");
    assertEqual(types[types.length - 1], "response.completed", "last event");
    assert(!types.includes("error"), `no error event: ${types.join(",")}`);
    assert(text.includes("Genie space 01ef5a found 3 rows"), `streamed text: ${text}`);
    assert(completed && completed.output.some((item) => item.type === "function_call_output"),
           "the completed response holds the tool round");
  });

  await scenario("a token without the tool's scope is refused before anything runs", async () => {
    const narrow = await token(["ai-gateway", "model-serving"]);
    let error = null;
    try {
      await client(narrow).responses.create(request);
    } catch (e) {
      error = e;
    }
    assert(error instanceof OpenAI.PermissionDeniedError,
           `the SDK raised PermissionDeniedError: ${error}`);
    assertEqual(error.status, 403, "HTTP status");
    assert(String(error.message).includes("genie"), `the message names the scope: ${error.message}`);
  });
} finally {
  const stopped = await stack.stop();
  if (stopped.gateway !== 0) {
    failures++;
    console.log(`FAIL the gateway exited with ${stopped.gateway}\n${stack.gatewayLog()}`);
  }
}
if (failures) {
  console.log(`${failures} scenario(s) failed`);
  process.exit(1);
}
