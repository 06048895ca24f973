// Browser tests of the chat page (GET /): headless Chromium against the real agent-gateway in
// front of supervisor-emulator. Each scenario saves PNGs of the states it checks into
// --artifacts. Exits non-zero when any scenario fails or logs a console error.
//
//   node tests/browser/chat_test.mjs --gateway build/server/agent-gateway \
//     --emulator build/tests/emulator/supervisor-emulator --artifacts build/artifacts/browser
import path from "node:path";
import { parseArgs } from "node:util";

import { Runner, Stack, assert, assertEqual, launchBrowser } from "./harness.mjs";

// `default` runs the sales Genie space and asks approval for github (a UC connection); `auto`
// approves github by policy; `user` runs as the signed-in user.
const kYaml = `identity:
  trusted_proxy: true
  user_api_scopes: [ai-gateway, genie]
default_profile: default
profiles:
  default:
    model: emulated-model
    tools: &tools
      - {type: genie_space, genie_space: {id: sales, description: Sales figures}}
      - {type: uc_connection, uc_connection: {name: github, description: GitHub issues}}
  auto:
    model: emulated-model-large
    tools: *tools
    mcp_approvals: {approve: [github]}
  user:
    model: emulated-model
    auth: user
    tools: [{type: genie_space, genie_space: {id: sales, description: Sales figures}}]
`;

const { values: args } = parseArgs({
  options: {
    gateway: { type: "string" },
    emulator: { type: "string" },
    artifacts: { type: "string", default: path.resolve("artifacts/browser") },
  },
});
if (!args.gateway || !args.emulator) {
  console.error("usage: chat_test.mjs --gateway BIN --emulator BIN [--artifacts DIR]");
  process.exit(2);
}

// ---- page helpers ----

async function openChat(page, url) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
}

async function ask(page, text) {
  await page.locator("#prompt").fill(text);
  await page.locator("#prompt").press("Enter");
}

// Waits until the n-th answer (1-based) is in `state` (done, error, stopped).
async function waitTurn(page, n, state) {
  await page.waitForFunction(([n, state]) => {
    const turns = document.querySelectorAll("section.turn");
    return turns.length >= n && turns[n - 1].dataset.state === state;
  }, [n, state]);
  return page.locator("section.turn").nth(n - 1);
}

function userMessages(body) {
  return body.input.filter((item) => item.role === "user").map((item) => item.content);
}

// ---- scenarios ----

async function streamedText(runner, stack) {
  await runner.run("streams the answer's text as it arrives", {}, async ({ page, requests, shot }) => {
    await openChat(page, stack.url);
    assertEqual(await page.locator("#model").textContent(), "emulated-model", "model shown");
    assert((await page.locator("#runs-as").textContent()).includes("the app"), "runs as the app");
    assert(await page.locator("#profile").isVisible(), "profile picker shown for 3 profiles");
    await shot("01-start.png");

    // One word per event, 150 ms apart: the text must grow while the call is still open.
    const question = "Hello there, agent [[fault:drip]] [[drip-ms:150]]";
    await ask(page, question);
    const partial = await page.waitForFunction(() => {
      const turn = document.querySelector("section.turn");
      const text = turn && turn.querySelector(".msg.assistant")?.textContent;
      return turn && turn.dataset.state === "streaming" && text && text.includes("asked") && text;
    });
    const partialText = await partial.jsonValue();
    assert(await page.locator("#stop").isVisible(), "Stop shown while streaming");
    await shot("02-streaming.png");
    const turn = await waitTurn(page, 1, "done");
    const finalText = await turn.locator(".msg.assistant").textContent();
    assertEqual(finalText, `You asked: "${question}".`, "final text");
    assert(finalText.length > partialText.length, `text grew after "${partialText}"`);
    assert(await page.locator("#send").isVisible(), "Send back after the answer");
    assertEqual(requests.length, 1, "one request");
    assertEqual(requests[0].body.stream, true, "stream: true");
    assertEqual(requests[0].body.input, [{ role: "user", content: question }], "input");
    assert(new URL(requests[0].url).pathname === "/invocations", "default profile uses /invocations");
    await shot("03-answer.png");
  });
}

async function toolCall(runner, stack) {
  await runner.run("shows a tool call and its result; keeps history; New chat clears it", {},
                   async ({ page, requests, shot }) => {
    await openChat(page, stack.url);
    await ask(page, "How did sales do last quarter?");
    const turn = await waitTurn(page, 1, "done");
    const card = turn.locator("details.tool");
    assertEqual(await card.count(), 1, "one tool card");
    assertEqual(await card.evaluate((d) => d.open), false, "collapsed by default");
    assert((await card.locator("summary").textContent()).includes("sales"), "tool name");
    assertEqual(await card.locator(".chip").textContent(), "done", "status");
    assert(!(await card.locator(".tool-body").isVisible()), "result hidden while collapsed");
    assert((await turn.locator(".msg.assistant").textContent()).includes("Genie space sales found 3 rows"),
           "answer uses the result");
    await shot("04-tool-collapsed.png");
    await card.locator("summary").click();
    assert(await card.locator(".tool-body").isVisible(), "expanded");
    const body = await card.locator(".tool-body").textContent();
    assert(body.includes("How did sales do last quarter?"), "arguments shown");
    assert(body.includes("Genie space sales found 3 rows"), "result shown");
    await shot("05-tool-expanded.png");

    // The next turn sends the first turn's items back, ids untouched.
    await ask(page, "And the quarter before?");
    await waitTurn(page, 2, "done");
    const first = requests[0].body.input;
    const second = requests[1].body.input;
    assertEqual(second.length, 5, "user, function_call, function_call_output, message, user");
    assertEqual(second[0], first[0], "first question kept");
    assertEqual(second.slice(1, 4).map((i) => i.type),
                ["function_call", "function_call_output", "message"], "items of the first answer");
    assertEqual(second[1].call_id, second[2].call_id, "call and output paired");
    assert(second[1].id.length > 64 && second[1].call_id.length > 64, "long ids sent as received");
    assertEqual(second[4], { role: "user", content: "And the quarter before?" }, "new question last");
    assertEqual(requests[1].body.context.conversation_id, requests[0].body.context.conversation_id,
                "same conversation");

    await page.locator("#new-chat").click();
    assertEqual(await page.locator("section.turn").count(), 0, "log cleared");
    assert(await page.locator("#empty").isVisible(), "empty state back");
    await ask(page, "Hello");
    await waitTurn(page, 1, "done");
    assertEqual(requests[2].body.input, [{ role: "user", content: "Hello" }], "history cleared");
    assert(requests[2].body.context.conversation_id !== requests[0].body.context.conversation_id,
           "new conversation id");
  });
}

async function approvals(runner, stack) {
  await runner.run("MCP approval: Approve continues the conversation", {},
                   async ({ page, requests, shot }) => {
    await openChat(page, stack.url);
    await ask(page, "Ask github about the open issues");
    const turn = await waitTurn(page, 1, "done");
    const card = turn.locator(".approval");
    await page.waitForSelector(".approval[data-state=pending]");
    const text = await card.textContent();
    assert(text.includes("Approval needed") && text.includes("github wants to run github"),
           "server label and tool: " + text);
    assert(text.includes("Ask github about the open issues"), "arguments shown");
    assertEqual(await page.evaluate(() => document.activeElement.textContent), "Approve",
                "Approve has the focus");
    await shot("06-approval.png");

    await page.keyboard.press("Enter");  // the focused Approve button
    const next = await waitTurn(page, 2, "done");
    const request = requests[1].body.input;
    const asked = requests[0].body.input.length;
    assertEqual(request.length, asked + 2, "history + request item + response");
    assertEqual(request[asked].type, "mcp_approval_request", "request item sent back");
    assertEqual(request[asked + 1], {
      type: "mcp_approval_response", approval_request_id: request[asked].id, approve: true,
    }, "approval response");
    assertEqual(await card.getAttribute("data-state"), "done", "card shows the decision");
    assert((await next.locator(".msg.assistant").textContent()).includes("Connection github completed the call"),
           "continued answer");
    assertEqual(await next.locator("details.tool .chip").textContent(), "done", "tool ran");
    await shot("07-approved.png");
  });

  await runner.run("MCP approval: Deny continues without running the tool", {},
                   async ({ page, requests }) => {
    await openChat(page, stack.url);
    await ask(page, "Ask github about the open issues");
    await page.waitForSelector(".approval[data-state=pending]");
    await page.locator(".approval button", { hasText: "Deny" }).click();
    const next = await waitTurn(page, 2, "done");
    assertEqual(requests[1].body.input.at(-1).approve, false, "approve: false sent");
    assert((await next.locator(".msg.assistant").textContent()).includes("not run"),
           "the tool was not run");
  });

  await runner.run("MCP approval answered by the profile's policy; profile picker", {},
                   async ({ page, requests, shot }) => {
    await openChat(page, stack.url);
    await page.locator("#profile").selectOption("auto");
    assertEqual(await page.locator("#model").textContent(), "emulated-model-large", "model follows");
    await ask(page, "Ask github about the open issues");
    const turn = await waitTurn(page, 1, "done");
    assertEqual(requests.length, 1, "one call");
    assertEqual(new URL(requests[0].url).pathname, "/agents/auto/invocations", "profile route");
    const chip = turn.locator(".approval .chip");
    assertEqual(await chip.textContent(), "approved by policy", "policy answer shown");
    assert((await chip.getAttribute("title")).includes("mcp_approvals policy"), "reason as title");
    assertEqual(await turn.locator(".approval button:visible").count(), 0, "no buttons");
    assert((await turn.locator(".msg.assistant").textContent()).includes("completed the call"),
           "answer continued in the same call");
    await shot("08-policy-approved.png");
  });
}

async function stop(runner, stack) {
  await runner.run("Stop cancels the request and the upstream call", {},
                   async ({ page, requests, shot }) => {
    await openChat(page, stack.url);
    const closed = await stack.counter("streams_client_closed");
    await ask(page, "Tell me a long story [[fault:drip]] [[drip-ms:400]]");
    await page.waitForFunction(() => document.querySelector("section.turn .msg.assistant")?.textContent);
    await page.locator("#stop").click();
    const turn = await waitTurn(page, 1, "stopped");
    assert(await stack.waitCounter("streams_client_closed", closed + 1),
           "the emulator saw its client (the gateway) close the stream");
    assert((await turn.locator(".notice").textContent()).includes("You cancelled the request"),
           "stopped notice");
    const partial = await turn.locator(".msg.assistant").textContent();
    const full = 'You asked: "Tell me a long story [[fault:drip]] [[drip-ms:400]]".';
    assert(partial.length > 0 && full.startsWith(partial) && partial.length < full.length,
           "stopped mid-answer, partial text kept: " + partial);
    await shot("09-stopped.png");

    // The conversation goes on from what was said.
    await ask(page, "Hello again");
    await waitTurn(page, 2, "done");
    assertEqual(requests[1].body.input.map((i) => i.role), ["user", "assistant", "user"],
                "question, partial answer, new question");
    assertEqual(requests[1].body.input[1].content, partial, "partial answer sent as said");
  });
}

async function scriptAsText(runner, stack) {
  const hostile = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> " +
                  "<b>raw</b> **bold** [click](javascript:window.__pwned=3) about sales";
  await runner.run("model and tool output containing <script> is shown as text", {},
                   async ({ page, shot }) => {
    await openChat(page, stack.url);
    await ask(page, hostile);
    const turn = await waitTurn(page, 1, "done");
    const answer = turn.locator(".msg.assistant");
    const text = await answer.textContent();
    assert(text.includes("<script>window.__pwned = 1</script>"), "script tag shown as text: " + text);
    assert(text.includes("<img src=x onerror="), "img tag shown as text");
    assertEqual(await page.locator("#log script, #log img, #log b, #log iframe").count(), 0,
                "no elements from the text");
    assertEqual(await answer.locator("strong").textContent(), "bold", "markdown still rendered");
    assertEqual(await page.locator("#log a").count(), 0, "javascript: link not made");
    assertEqual(await answer.locator(".unsafe-link").textContent(), "click", "link text kept");
    const card = turn.locator("details.tool");
    await card.locator("summary").click();
    assert((await card.locator(".tool-body").textContent()).includes("<script>window.__pwned"),
           "tool arguments shown as text");
    assertEqual(await page.evaluate(() => window.__pwned), undefined, "nothing ran");
    await shot("10-script-as-text.png");
  });
}

async function errors(runner, stack) {
  await runner.run("errors in plain words: error frame, cut stream, HTTP error", {
    // Chromium reports the 401 of the user-profile call on the console by itself.
    allowConsole: [/status of 401/],
  }, async ({ page, shot }) => {
    await openChat(page, stack.url);
    // The upstream resets the connection after 3 events: the gateway sends an error frame.
    await ask(page, "Hello [[fault:reset]]");
    let turn = await waitTurn(page, 1, "error");
    const broke = await turn.locator(".notice.error").textContent();
    assert(broke.includes("The answer stopped partway because of an error") &&
           broke.includes("Connection reset"), "error frame shown with its reason: " + broke);

    // A stream that ends without [DONE] (the connection dropped mid-way).
    await page.route("**/invocations", (route) => route.fulfill({
      status: 200,
      contentType: "text/event-stream",
      body: 'data: {"type":"response.output_text.delta","item_id":"m1","delta":"Half an ans"}\n\n',
    }), { times: 1 });
    await ask(page, "Hello");
    turn = await waitTurn(page, 2, "error");
    assert((await turn.locator(".notice.error").textContent()).includes("cut off"), "cut stream");
    assertEqual(await turn.locator(".msg.assistant").textContent(), "Half an ans", "partial kept");

    // A user profile without a forwarded token: 401 before the stream.
    await page.locator("#profile").selectOption("user");
    await ask(page, "How did sales do?");
    turn = await waitTurn(page, 3, "error");
    const refused = await turn.locator(".notice.error").textContent();
    assert(refused.includes("HTTP 401") && refused.includes("X-Forwarded-Access-Token"),
           "refusal explained: " + refused);
    await shot("11-errors.png");
  });
}

async function identity(runner, stack) {
  const { body: minted } = await stack.emulatorJson("POST", "/emulator/users/token", {
    user: "alice@example.com", scopes: ["ai-gateway", "genie"], format: "opaque",
  });
  const headers = {
    "x-forwarded-email": "alice@example.com",
    "x-forwarded-user": "1234567890@example",
    "x-forwarded-preferred-username": "alice",
    "x-forwarded-access-token": minted.access_token,
  };
  await runner.run("shows who the request runs as (forwarded identity)", {
    context: { extraHTTPHeaders: headers },
  }, async ({ page, shot }) => {
    await openChat(page, stack.url);
    const appText = await page.locator("#runs-as").textContent();
    assert(appText.includes("the app") && appText.includes("alice@example.com"), appText);
    await page.locator("#profile").selectOption("user");
    const userText = await page.locator("#runs-as").textContent();
    assert(userText.startsWith("alice@example.com"), userText);
    const whoami = await page.evaluate(() => fetch("agent/whoami").then((r) => r.text()));
    assert(!whoami.includes(minted.access_token), "whoami never echoes the token");
    await ask(page, "How did sales do?");
    await waitTurn(page, 1, "done");
    const { body: last } = await stack.emulatorJson("GET", "/emulator/requests/last");
    assertEqual(last.identity, "user:alice@example.com", "the call ran as the user");
    await shot("12-user-identity.png");
  });
}

async function markdownAndKeyboard(runner, stack) {
  await runner.run("markdown rendering; Shift+Enter adds a line, Enter sends", {},
                   async ({ page, requests, shot }) => {
    await openChat(page, stack.url);
    const lines = ["Format check with `code` and a link https://example.com/docs.", "",
                   "- item one", "- item **two**", "", "| region | rows |", "|---|---:|",
                   "| east | 3 |"];
    const prompt = page.locator("#prompt");
    await prompt.focus();
    for (let i = 0; i < lines.length; i++) {
      if (i > 0) await page.keyboard.press("Shift+Enter");
      await page.keyboard.type(lines[i]);
    }
    assertEqual(requests.length, 0, "Shift+Enter did not send");
    assertEqual(await prompt.inputValue(), lines.join("\n"), "new lines in the box");
    await page.keyboard.press("Enter");
    const turn = await waitTurn(page, 1, "done");
    assertEqual(requests[0].body.input[0].content, lines.join("\n"), "sent as typed");
    assertEqual(await prompt.inputValue(), "", "box cleared");
    const answer = turn.locator(".msg.assistant");
    assertEqual(await answer.locator("li").count(), 2, "list items");
    assertEqual(await answer.locator("li strong").textContent(), "two", "emphasis in a list");
    assertEqual(await answer.locator("p code").textContent(), "code", "code span");
    assertEqual(await answer.locator("a").getAttribute("href"), "https://example.com/docs", "link");
    assertEqual(await answer.locator("a").getAttribute("rel"), "noopener noreferrer nofollow", "rel");
    assertEqual(await answer.locator("table td").first().textContent(), "east", "table");
    await shot("13-markdown.png");
  });
}

// ChatMarkdown.render on its own, in the page: what each input becomes, as HTML.
const kLink = 'target="_blank" rel="noopener noreferrer nofollow"';
const kUnsafe = '<span class="unsafe-link" title="link not followed: only http, https and mailto links are shown">';
const kMarkdownCases = [
  ["[x](javascript:alert(1))", `<p>${kUnsafe}x</span></p>`],
  ["[x](JaVaScRiPt:alert(1))", `<p>${kUnsafe}x</span></p>`],
  ["[x](data:text/html,hi)", `<p>${kUnsafe}x</span></p>`],
  ["[x](/relative)", `<p>${kUnsafe}x</span></p>`],
  ["<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>"],
  ["![i](javascript:alert(1))", "<p>[image: i]</p>"],
  ["![i](https://x.test/y.png)", `<p><a href="https://x.test/y.png" ${kLink}>[image: i]</a></p>`],
  ["<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"],
  ["`<b>` <i>x</i>", "<p><code>&lt;b&gt;</code> &lt;i&gt;x&lt;/i&gt;</p>"],
  ["```html\n<script>alert(1)</script>\n```",
   '<pre><code data-lang="html">&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>'],
  ["[t](https://x.test \"a title\") and <https://a.test/x>",
   `<p><a href="https://x.test/" ${kLink} title="a title">t</a> and <a href="https://a.test/x" ${kLink}>https://a.test/x</a></p>`],
  ["see https://example.com/a_(b). ok",
   `<p>see <a href="https://example.com/a_(b)" ${kLink}>https://example.com/a_(b)</a>. ok</p>`],
  ["# Title #\n\n***both*** ~~gone~~ snake_case_name",
   "<h1>Title</h1><p><strong><em>both</em></strong> <del>gone</del> snake_case_name</p>"],
  ["3. three\n4. four\n   - nested\n5. five",
   '<ol start="3"><li><p>three</p></li><li><p>four</p><ul><li><p>nested</p></li></ul></li><li><p>five</p></li></ol>'],
  ["> quote\n> more\n\n---", "<blockquote><p>quote<br>more</p></blockquote><hr>"],
  ["| a | b |\n|:-:|--:|\n| 1 | 2 |",
   '<div class="table-wrap"><table><thead><tr><th class="align-center">a</th><th class="align-right">b</th></tr></thead>' +
   '<tbody><tr><td class="align-center">1</td><td class="align-right">2</td></tr></tbody></table></div>'],
];
// Inputs shaped to make a naive parser rescan the text at every character.
const kHeavyInputs = ["*".repeat(3) + "a **b ".repeat(10000), "[".repeat(20000), "[a](".repeat(10000),
                      "``a`".repeat(15000), "h https://a ".repeat(10000), ">".repeat(500) + "x"];

async function markdownRenderer(runner, stack) {
  await runner.run("markdown renderer: only safe links, never HTML, bounded work", {},
                   async ({ page }) => {
    await openChat(page, stack.url);
    const rendered = await page.evaluate((inputs) => inputs.map((text) => {
      const div = document.createElement("div");
      window.ChatMarkdown.render(text, div);
      return div.innerHTML;
    }), kMarkdownCases.map(([input]) => input));
    kMarkdownCases.forEach(([input, html], k) => assertEqual(rendered[k], html, input));
    const costs = await page.evaluate((inputs) => inputs.map((text) => {
      const div = document.createElement("div");
      const start = performance.now();
      window.ChatMarkdown.render(text, div);
      return { ms: performance.now() - start, elements: div.querySelectorAll("script, img, iframe").length };
    }), kHeavyInputs);
    costs.forEach((cost, k) => {
      assert(cost.ms < 1500, `input ${k} took ${cost.ms} ms`);
      assertEqual(cost.elements, 0, `input ${k}: no active elements`);
    });
  });
}

async function phone(runner, stack) {
  await runner.run("phone width (390 px): readable, nothing overflows sideways", {
    context: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  }, async ({ page, shot }) => {
    await openChat(page, stack.url);
    await ask(page, "How did sales do last quarter? Give me the long version please.");
    await waitTurn(page, 1, "done");
    await page.locator("details.tool summary").first().click();
    await ask(page, "Ask github about the open issues");
    await waitTurn(page, 2, "done");
    await page.waitForSelector(".approval[data-state=pending]");
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth - window.innerWidth,
      log: document.getElementById("log").scrollWidth - document.getElementById("log").clientWidth,
    }));
    assertEqual(overflow, { page: 0, log: 0 }, "no sideways overflow");
    await shot("14-phone-approval.png");
    await page.locator(".approval button", { hasText: "Approve" }).click();
    await waitTurn(page, 3, "done");
    await shot("15-phone-approved.png");
  });
}

async function darkTheme(runner, stack) {
  await runner.run("dark color scheme", { context: { colorScheme: "dark" } },
                   async ({ page, shot }) => {
    await openChat(page, stack.url);
    await ask(page, "How did sales do last quarter? Reply with **bold** and `code`.");
    await waitTurn(page, 1, "done");
    await page.locator("details.tool summary").click();
    await ask(page, "Ask github about the open issues");
    await waitTurn(page, 2, "done");
    await page.waitForSelector(".approval[data-state=pending]");
    await ask(page, "Hello [[fault:reset]]");
    await waitTurn(page, 3, "error");
    const colors = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assertEqual(colors, "rgb(20, 23, 29)", "dark background");
    await shot("16-dark.png");
  });
}

// ---- main ----

const stack = await Stack.start({
  gatewayBinary: args.gateway, emulatorBinary: args.emulator, yaml: kYaml,
});
let failed = 1;
let browser = null;
try {
  browser = await launchBrowser();
  const runner = new Runner({ browser, artifacts: args.artifacts });
  await streamedText(runner, stack);
  await toolCall(runner, stack);
  await approvals(runner, stack);
  await stop(runner, stack);
  await scriptAsText(runner, stack);
  await errors(runner, stack);
  await identity(runner, stack);
  await markdownAndKeyboard(runner, stack);
  await markdownRenderer(runner, stack);
  await phone(runner, stack);
  await darkTheme(runner, stack);
  failed = runner.summary();
  console.log(`screenshots: ${args.artifacts}`);
} catch (e) {
  console.log("browser tests could not run: " + (e.stack || e));
} finally {
  if (browser) await browser.close();
  const exits = await stack.stop();
  if (exits.gateway !== 0) console.log(`note: agent-gateway exited with ${exits.gateway} on SIGTERM`);
}
process.exit(failed ? 1 : 0);
