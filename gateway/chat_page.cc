#include "gateway/chat_page.h"

namespace agentgateway::gateway {
namespace {

// Model output is only ever placed with textContent, never innerHTML.
constexpr std::string_view kHtml = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agent-gateway chat</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  #log { flex: 1; overflow-y: auto; padding: 1em; }
  .msg { white-space: pre-wrap; margin: 0.5em 0; padding: 0.5em 0.75em; border-radius: 6px; max-width: 80ch; }
  .user { background: #e8f0fe; margin-left: auto; }
  .assistant { background: #f1f3f4; }
  .error { background: #fde8e8; color: #a00; }
  form { display: flex; gap: 0.5em; padding: 0.75em; border-top: 1px solid #ddd; }
  textarea { flex: 1; font: inherit; resize: none; }
</style>
</head>
<body>
<div id="log"></div>
<form id="form">
  <textarea id="prompt" rows="2" placeholder="Ask the agent (Enter sends, Shift+Enter new line)"></textarea>
  <button id="send" type="submit">Send</button>
</form>
<script>
"use strict";
const log = document.getElementById("log");
const form = document.getElementById("form");
const prompt = document.getElementById("prompt");
const send = document.getElementById("send");
const history = [];
const conversationId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()));

function bubble(cls, text) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

function handleEvent(data, out, state) {
  if (data === "[DONE]") { state.done = true; return; }
  let ev;
  try { ev = JSON.parse(data); } catch (e) { return; }
  if (ev.error !== undefined) {
    state.error = typeof ev.error === "string" ? ev.error : JSON.stringify(ev.error);
    return;
  }
  if (ev.type === "response.output_text.delta" && typeof ev.delta === "string") {
    state.text += ev.delta;
    out.textContent = state.text;
    log.scrollTop = log.scrollHeight;
  } else if (ev.type === "response.output_item.done" && ev.item && ev.item.type === "message" &&
             !state.text) {
    const parts = Array.isArray(ev.item.content) ? ev.item.content : [];
    state.text = parts.filter(p => p.type === "output_text").map(p => p.text).join("");
    out.textContent = state.text;
  }
}

async function ask(text) {
  history.push({ role: "user", content: text });
  bubble("user", text);
  const out = bubble("assistant", "");
  const state = { text: "", error: null, done: false };
  send.disabled = true;
  try {
    const res = await fetch("invocations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ input: history, stream: true, context: { conversation_id: conversationId } }),
    });
    if (!res.ok) {
      let detail = res.status + " " + res.statusText;
      try { const body = await res.json(); if (body.detail) detail = body.detail; } catch (e) {}
      throw new Error(detail);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    while (!state.done) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").filter(l => l.startsWith("data:"))
                          .map(l => l.slice(5).replace(/^ /, "")).join("\n");
        if (data) handleEvent(data, out, state);
      }
    }
    if (state.error) throw new Error(state.error);
    history.push({ role: "assistant", content: state.text });
  } catch (e) {
    out.className = "msg error";
    out.textContent = (state.text ? state.text + "\n\n" : "") + "Error: " + e.message;
    history.pop();
  } finally {
    send.disabled = false;
    prompt.focus();
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = prompt.value.trim();
  if (!text || send.disabled) return;
  prompt.value = "";
  ask(text);
});
prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
});
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view ChatPageHtml() { return kHtml; }

}  // namespace agentgateway::gateway
