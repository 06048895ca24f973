"use strict";
// The chat page: sends the conversation to POST invocations (or agents/{profile}/invocations)
// with "stream": true, reads the MLflow-framed SSE answer (`data:` lines, `data: [DONE]` last,
// `data: {"error": ...}` for a failure after the 200) and shows it as it arrives.
//
// Safety: everything that comes from the model, a tool or the server reaches the page as text
// (textContent, or ChatMarkdown, which builds elements itself and never parses HTML).
//
// History: the items each answer produced (its `response.output_item.done` events, ids as
// sent) are kept in order and sent back whole with every turn; the gateway shortens ids the
// upstream would refuse. An answer that ends with `mcp_approval_request` items shows
// Approve / Deny; the decisions go out as `mcp_approval_response` items after the history.
(function () {
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const empty = $("empty");
  const form = $("composer");
  const prompt = $("prompt");
  const sendButton = $("send");
  const stopButton = $("stop");
  const newChatButton = $("new-chat");
  const profileSelect = $("profile");
  const profileFact = $("profile-fact");
  const modelText = $("model");
  const runsAsText = $("runs-as");
  const agentName = $("agent-name");

  const chat = {
    info: null,             // GET agent/info
    whoami: {},             // GET agent/whoami: the forwarded identity headers
    history: [],            // the conversation's input items
    conversationId: newId(),
    call: null,             // the call in flight: {controller, turn}
    approvals: [],          // approval cards still waiting for a decision
  };

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function prettyJson(text) {
    if (typeof text !== "string") return JSON.stringify(text, null, 2);
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      return text;
    }
  }

  function errorText(error) {
    if (typeof error === "string") return error;
    if (error && typeof error.message === "string") return error.message;
    return JSON.stringify(error);
  }

  // ---- scrolling: follow the answer unless the reader scrolled up ----

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }

  function appendToLog(node) {
    const follow = nearBottom();
    log.append(node);
    if (follow) log.scrollTop = log.scrollHeight;
  }

  function keepFollowing(update) {
    const follow = nearBottom();
    update();
    if (follow) log.scrollTop = log.scrollHeight;
  }

  // ---- header: profile, model, identity ----

  function selectedProfile() {
    if (!chat.info) return null;
    const name = profileSelect.value || chat.info.default_profile;
    return chat.info.profiles.find((p) => p.name === name) || null;
  }

  function endpoint() {
    const profile = selectedProfile();
    if (!profile || profile.name === chat.info.default_profile) return "invocations";
    return "agents/" + encodeURIComponent(profile.name) + "/invocations";
  }

  function showProfile() {
    const profile = selectedProfile();
    modelText.textContent = profile ? profile.model : "unknown";
    modelText.title = profile ? "engine: " + profile.engine : "";
    const who = chat.whoami;
    const person = who.email || who.user || who.preferred_username || "";
    runsAsText.replaceChildren();
    if (!profile) {
      runsAsText.textContent = "unknown";
    } else if (profile.auth === "user") {
      const signedIn = person || who.user_token;
      runsAsText.append(el("span", "identity", person || "the signed-in user"));
      runsAsText.append(el("span", "aside", signedIn ? " (your own permissions)"
                                                     : " (no one is signed in: calls will be refused)"));
    } else {
      runsAsText.append(el("span", "identity", "the app"));
      runsAsText.append(el("span", "aside", person ? " (service principal; you are " + person + ")"
                                                   : " (service principal)"));
    }
    document.body.dataset.auth = profile ? profile.auth : "";
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(await httpErrorText(response));
    return response.json();
  }

  async function loadInfo() {
    const whoami = getJson("agent/whoami").catch(() => ({}));
    try {
      chat.info = await getJson("agent/info");
    } catch (e) {
      modelText.textContent = "unknown";
      runsAsText.textContent = "unknown";
      appendToLog(notice("error", "Error", "Could not load the agent's profiles.", errorText(e)));
      document.body.dataset.ready = "error";
      return;
    }
    chat.whoami = await whoami;
    agentName.textContent = chat.info.name && chat.info.name !== "agent-gateway"
        ? chat.info.name : "";
    const profiles = chat.info.profiles || [];
    for (const p of profiles) {
      const isDefault = p.name === chat.info.default_profile && p.name !== "default";
      const option = el("option", "", p.name + (isDefault ? " (default)" : ""));
      option.value = p.name;
      profileSelect.append(option);
    }
    profileSelect.value = chat.info.default_profile;
    profileFact.hidden = profiles.length < 2;
    showProfile();
    document.body.dataset.ready = "true";
  }

  // ---- the answer of one call ----

  // A notice: `kind` "error" or "info", a short label, a sentence in plain words and, if any,
  // the technical detail (the server's own message) below it.
  function notice(kind, label, text, detail) {
    const div = el("div", "notice " + kind);
    div.setAttribute("role", kind === "error" ? "alert" : "status");
    div.append(el("span", "notice-label", label));
    const body = el("div", "notice-body");
    body.append(el("div", "notice-text", text));
    if (detail) body.append(el("div", "notice-detail", detail));
    div.append(body);
    return div;
  }

  function toolCard(name) {
    const details = el("details", "tool");
    const summary = el("summary");
    summary.append(el("span", "tool-kind", "Tool"));
    const nameEl = el("span", "tool-name mono", name || "tool");
    summary.append(nameEl);
    const status = el("span", "chip running", "running");
    summary.append(status);
    details.append(summary);
    const body = el("div", "tool-body");
    const args = el("pre", "mono");
    const result = el("pre", "mono");
    const resultLabel = el("div", "label", "Result");
    body.append(el("div", "label", "Arguments"), args, resultLabel, result);
    resultLabel.hidden = result.hidden = true;
    details.append(body);
    return {
      node: details,
      setName(n) { nameEl.textContent = n; },
      setArguments(a) { args.textContent = prettyJson(a || "{}"); },
      setResult(output) {
        resultLabel.hidden = result.hidden = false;
        result.textContent = prettyJson(output);
        status.textContent = "done";
        status.className = "chip done";
        details.dataset.state = "done";
      },
      setStatus(text, kind) {
        status.textContent = text;
        status.className = "chip " + kind;
        details.dataset.state = kind;
      },
    };
  }

  function approvalCard(item) {
    const card = el("div", "approval");
    card.setAttribute("role", "group");
    card.setAttribute("aria-label", "Approval request");
    card.dataset.state = "waiting";
    const head = el("div", "approval-head");
    const title = el("span", "approval-title", "Approval needed");
    head.append(title);
    const what = el("span", "approval-what");
    what.append(el("span", "mono", item.server_label || "?"), " wants to run ",
                el("span", "mono", item.name || "?"));
    head.append(what);
    card.append(head);
    card.append(el("pre", "mono", prettyJson(item.arguments || "{}")));
    const actions = el("div", "approval-actions");
    const approve = el("button", "button primary", "Approve");
    const deny = el("button", "button secondary", "Deny");
    approve.type = deny.type = "button";
    approve.disabled = deny.disabled = true;
    const outcome = el("span", "chip", "");
    outcome.hidden = true;
    actions.append(approve, deny, outcome);
    card.append(actions);
    const entry = {
      item,
      node: card,
      decision: null,
      enable() {
        approve.disabled = deny.disabled = false;
        card.dataset.state = "pending";
      },
      resolve(text, kind, reason) {
        approve.hidden = deny.hidden = true;
        outcome.hidden = false;
        outcome.textContent = text;
        outcome.className = "chip " + kind;
        if (reason) outcome.title = reason;
        title.textContent = "Approval request";
        card.dataset.state = kind;
      },
    };
    approve.addEventListener("click", () => decide(entry, true));
    deny.addEventListener("click", () => decide(entry, false));
    return entry;
  }

  class Turn {
    constructor() {
      this.node = el("section", "turn");
      this.node.dataset.state = "streaming";
      this.node.setAttribute("aria-busy", "true");
      this.thinking = el("div", "thinking", "Working on it");
      this.node.append(this.thinking);
      this.items = [];            // output_item.done items, in order
      this.messages = new Map();  // message id -> {node, text, done}
      this.tools = new Map();     // call_id -> tool card
      this.approvals = new Map(); // approval request id -> approval card
      this.sawDone = false;
      this.error = null;
      this.renderQueued = new Set();
      appendToLog(this.node);
    }

    // "Working on it" shows while the answer has nothing streaming: before the first text and
    // while a tool runs.
    setWorking(working) {
      this.thinking.hidden = !working;
    }

    add(node) {
      const before = this.thinking.parentNode === this.node ? this.thinking : null;
      keepFollowing(() => this.node.insertBefore(node, before));
    }

    message(id) {
      const key = id || "";
      let m = this.messages.get(key);
      if (!m) {
        const node = el("div", "msg assistant md streaming");
        m = { node, text: "", done: false };
        this.messages.set(key, m);
        this.add(node);
      }
      return m;
    }

    scheduleRender(m) {
      if (this.renderQueued.has(m)) return;
      this.renderQueued.add(m);
      requestAnimationFrame(() => this.renderNow(m));
    }

    renderNow(m) {
      if (!this.renderQueued.delete(m)) return;
      keepFollowing(() => window.ChatMarkdown.render(m.text, m.node));
    }

    // One `data:` payload. Returns false after [DONE].
    onData(data) {
      if (data === "[DONE]") {
        this.sawDone = true;
        return false;
      }
      let event;
      try {
        event = JSON.parse(data);
      } catch (e) {
        return true;  // not JSON: nothing to show
      }
      if (!event || typeof event !== "object") return true;
      if (event.type === undefined) {
        if (event.error !== undefined) this.error = errorText(event.error);
        return true;  // also {"trace_id": ...}
      }
      switch (event.type) {
        case "response.output_item.added":
          this.onItemAdded(event.item || {});
          break;
        case "response.output_text.delta":
          if (typeof event.delta === "string") {
            this.setWorking(false);
            const m = this.message(event.item_id);
            m.text += event.delta;
            this.scheduleRender(m);
          }
          break;
        case "response.output_item.done":
          if (event.item && typeof event.item === "object") this.onItemDone(event.item);
          break;
        case "response.created":
          this.setWorking(true);
          break;
        case "error":
          this.error = errorText(event.error || event);
          break;
        case "response.failed":
          this.error = errorText((event.response && event.response.error) || "the response failed");
          break;
        default:
          break;
      }
      return true;
    }

    onItemAdded(item) {
      if (item.type === "message" && item.role !== "user") {
        this.message(item.id);
      } else if (item.type === "function_call" && !this.tools.has(item.call_id)) {
        const card = toolCard(item.name);
        this.tools.set(item.call_id, card);
        this.add(card.node);
        this.setWorking(true);
      }
    }

    onItemDone(item) {
      this.items.push(item);
      switch (item.type) {
        case "message": {
          const parts = Array.isArray(item.content) ? item.content : [];
          const text = typeof item.content === "string" ? item.content
              : parts.filter((p) => p && typeof p.text === "string").map((p) => p.text).join("");
          const m = this.message(item.id);
          m.text = text;
          m.done = true;
          m.node.classList.remove("streaming");
          this.renderQueued.add(m);
          this.renderNow(m);
          break;
        }
        case "function_call": {
          let card = this.tools.get(item.call_id);
          if (!card) {
            card = toolCard(item.name);
            this.tools.set(item.call_id, card);
            this.add(card.node);
          }
          card.setName(item.name || "tool");
          card.setArguments(item.arguments);
          card.setStatus("waiting for result", "running");
          break;
        }
        case "function_call_output": {
          let card = this.tools.get(item.call_id);
          if (!card) {
            card = toolCard("tool result");
            card.setArguments("{}");
            this.tools.set(item.call_id, card);
            this.add(card.node);
          }
          card.setResult(item.output);
          break;
        }
        case "mcp_approval_request": {
          const card = approvalCard(item);
          this.approvals.set(item.id, card);
          this.add(card.node);
          break;
        }
        case "mcp_approval_response": {
          // Answered by the profile's policy within the same call.
          const card = this.approvals.get(item.approval_request_id);
          const text = item.approve ? "approved by policy" : "denied by policy";
          if (card) {
            card.resolve(text, item.approve ? "done" : "denied", item.reason || "");
          } else {
            this.add(notice("info", "Policy", "A tool request was " + text + ".", item.reason));
          }
          break;
        }
        case "reasoning": {
          const details = el("details", "tool reasoning");
          const summary = el("summary");
          summary.append(el("span", "tool-kind", "Reasoning"));
          details.append(summary);
          const parts = Array.isArray(item.summary) ? item.summary : [];
          const text = parts.map((p) => (p && typeof p.text === "string" ? p.text : "")).join("\n\n");
          const body = el("div", "tool-body md");
          window.ChatMarkdown.render(text || "(no summary)", body);
          details.append(body);
          this.add(details);
          break;
        }
        default: {
          const details = el("details", "tool");
          const summary = el("summary");
          summary.append(el("span", "tool-kind", "Item"), el("span", "tool-name mono", String(item.type)));
          details.append(summary);
          const body = el("div", "tool-body");
          body.append(el("pre", "mono", JSON.stringify(item, null, 2)));
          details.append(body);
          this.add(details);
          break;
        }
      }
    }

    // The call ended: "done", "stopped" or "error" (with `message`).
    finish(outcome, message) {
      for (const m of this.messages.values()) {
        m.node.classList.remove("streaming");
        this.renderQueued.add(m);
        this.renderNow(m);
        if (!m.text && !m.done) m.node.remove();
      }
      this.thinking.remove();
      this.node.dataset.state = outcome;
      this.node.removeAttribute("aria-busy");

      const outputs = new Set(this.items.filter((i) => i.type === "function_call_output")
                                        .map((i) => i.call_id));
      let clientCalls = 0;
      for (const item of this.items) {
        // A call without its output would make the next turn invalid: leave it out. When the
        // answer itself ends with one, it is a client-side function the page cannot run.
        if (item.type === "function_call" && !outputs.has(item.call_id)) {
          const card = this.tools.get(item.call_id);
          if (outcome === "done") {
            clientCalls++;
            if (card) card.setStatus("not run here", "denied");
          } else if (card) {
            card.setStatus("no result", "denied");
          }
          continue;
        }
        chat.history.push(item);
      }
      if (outcome !== "done") {
        // Keep what was said so far, so the conversation can go on from it.
        for (const m of this.messages.values()) {
          if (!m.done && m.text) chat.history.push({ role: "assistant", content: m.text });
        }
      }

      if (outcome === "stopped") {
        const said = [...this.messages.values()].some((m) => m.text);
        this.add(notice("info", "Stopped", said
            ? "You cancelled the request, so the answer above is incomplete."
            : "You cancelled the request before the answer began."));
      } else if (outcome === "error") {
        this.add(notice("error", "Error", message.text, message.detail));
      } else if (clientCalls) {
        this.add(notice("info", "Note", "The agent asked for a function that runs in the " +
                                "caller's own system; this page cannot run it."));
      }

      const waiting = [...this.approvals.values()].filter((a) => a.node.dataset.state === "waiting");
      if (outcome === "done" && waiting.length) {
        chat.approvals = waiting;
        for (const a of waiting) a.enable();
        waiting[0].node.querySelector("button").focus({ preventScroll: true });
        log.scrollTop = log.scrollHeight;
      } else {
        for (const a of waiting) a.resolve("not answered", "muted");
      }
    }
  }

  // ---- reading the stream ----

  async function readStream(body, turn) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r/g, "");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data:"))
                          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (data && turn.onData(data) === false) {
          reader.cancel().catch(() => {});
          return;
        }
      }
    }
  }

  // A failed HTTP answer as {text, detail}: what happened in plain words, and the server's reason.
  async function httpError(response) {
    let detail = "";
    try {
      const text = await response.text();
      try {
        const body = JSON.parse(text);
        detail = body.detail || (body.error && errorText(body.error)) || body.message || text;
      } catch (e) {
        detail = text.slice(0, 500);
      }
    } catch (e) {
      detail = "";
    }
    const status = "HTTP " + response.status + (response.statusText ? " " + response.statusText : "");
    let lead = "The gateway refused the request";
    if (response.status === 401) lead = "The gateway could not tell who you are";
    else if (response.status === 403) lead = "You are not allowed to do this";
    else if (response.status === 404) lead = "The gateway does not know this agent or route";
    else if (response.status === 429) lead = "The agent is busy right now; try again in a moment";
    else if (response.status === 504) lead = "The request took too long";
    else if (response.status >= 500) lead = "The gateway could not complete the request";
    return { text: lead + " (" + status + ").", detail };
  }

  async function httpErrorText(response) {
    const { text, detail } = await httpError(response);
    return detail ? text + " " + detail : text;
  }

  function streamError(message) {
    return { text: "The answer stopped partway because of an error.", detail: message };
  }

  async function runCall(turn, signal) {
    const body = {
      input: chat.history,
      stream: true,
      context: { conversation_id: chat.conversationId },
    };
    let started = false;
    try {
      const response = await fetch(endpoint(), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal,
      });
      if (!response.ok) return ["error", await httpError(response)];
      started = true;
      await readStream(response.body, turn);
      if (turn.error !== null) return ["error", streamError(turn.error)];
      if (!turn.sawDone) {
        return ["error", { text: "The answer was cut off: the connection closed before it finished." }];
      }
      return ["done"];
    } catch (e) {
      if (signal.aborted) return ["stopped"];
      if (turn.error !== null) return ["error", streamError(turn.error)];
      if (started) {
        return ["error", { text: "The answer was cut off: the connection was lost before it finished." }];
      }
      return ["error", { text: "Could not reach the gateway. Check that it is running, then try again." }];
    }
  }

  function setBusy(busy) {
    sendButton.hidden = busy;
    stopButton.hidden = !busy;
    document.body.dataset.busy = busy ? "true" : "false";
  }

  function startCall() {
    empty.hidden = true;
    const turn = new Turn();
    const controller = new AbortController();
    const call = { controller, turn };
    chat.call = call;
    setBusy(true);
    runCall(turn, controller.signal).then(([outcome, message]) => {
      if (chat.call !== call) return;  // cleared by New chat
      chat.call = null;
      turn.finish(outcome, message);
      setBusy(false);
      if (!chat.approvals.length) prompt.focus({ preventScroll: true });
    });
  }

  // Approvals left open when the person writes something else instead stay unanswered.
  function retireApprovals() {
    for (const a of chat.approvals) {
      if (a.decision === null) a.resolve("not answered", "muted");
    }
    chat.approvals = [];
  }

  function decide(entry, approve) {
    if (chat.call || entry.decision !== null) return;
    entry.decision = approve;
    entry.resolve(approve ? "approved" : "denied", approve ? "done" : "denied");
    if (chat.approvals.some((a) => a.decision === null)) return;
    for (const a of chat.approvals) {
      chat.history.push({
        type: "mcp_approval_response",
        approval_request_id: a.item.id,
        approve: a.decision,
      });
    }
    chat.approvals = [];
    startCall();
  }

  function sendMessage(text) {
    retireApprovals();
    chat.history.push({ role: "user", content: text });
    empty.hidden = true;
    appendToLog(el("div", "msg user", text));
    log.scrollTop = log.scrollHeight;
    startCall();
  }

  function stopCall() {
    if (chat.call) chat.call.controller.abort();
  }

  function newChat() {
    if (chat.call) {
      chat.call.controller.abort();
      chat.call = null;
      setBusy(false);
    }
    chat.history = [];
    chat.approvals = [];
    chat.conversationId = newId();
    log.replaceChildren(empty);
    empty.hidden = false;
    prompt.focus();
  }

  function autosize() {
    prompt.style.height = "auto";
    prompt.style.height = Math.min(prompt.scrollHeight, 200) + "px";
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = prompt.value.trim();
    if (!text || chat.call) return;
    prompt.value = "";
    autosize();
    sendMessage(text);
  });
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  prompt.addEventListener("input", autosize);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && chat.call) {
      e.preventDefault();
      stopCall();
    }
  });
  stopButton.addEventListener("click", stopCall);
  newChatButton.addEventListener("click", newChat);
  profileSelect.addEventListener("change", showProfile);

  if (window.matchMedia("(max-width: 480px)").matches) prompt.placeholder = "Ask the agent…";
  setBusy(false);
  loadInfo();
  prompt.focus();
})();
