"use strict";
// A small Markdown renderer for model output that builds DOM nodes directly. Nothing it is given
// ever becomes HTML: text goes into Text nodes, elements come from a fixed list (p, h1-h6, em,
// strong, del, code, pre, ul, ol, li, blockquote, table, hr, br, a), and a link is made only
// for an absolute http:, https: or mailto: URL. Images are shown as links, never loaded.
// Covers what chat answers use: paragraphs (a single newline is a line break), headings,
// emphasis, code spans, fenced code, nested lists, block quotes, pipe tables, rules, links,
// autolinks and bare URLs. Exposes window.ChatMarkdown.render(text, container).
(function () {
  const kMaxDepth = 12;          // nesting bound for blocks and inline spans
  const kMaxText = 200000;       // longer text is shown as it is, without markdown
  const kPunct = /[!-/:-@[-`{-~]/;

  function el(tag, className) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    return e;
  }

  // The URL to link to, or null when it is not an absolute http(s)/mailto URL.
  function safeUrl(raw) {
    const url = raw.trim();
    if (!url || /[\u0000-\u001f\u007f]/.test(url)) return null;
    let parsed;
    try {
      parsed = new URL(url);  // no base: relative URLs are not linked
    } catch (e) {
      return null;
    }
    const ok = parsed.protocol === "http:" || parsed.protocol === "https:" ||
               parsed.protocol === "mailto:";
    return ok ? parsed.href : null;
  }

  // ---- blocks ----

  const isBlank = (line) => /^[ \t]*$/.test(line);
  const indentOf = (line) => line.length - line.replace(/^ +/, "").length;
  const fenceOpen = (line) => {
    const m = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(line);
    if (!m || (m[2][0] === "`" && m[3].includes("`"))) return null;
    return { indent: m[1].length, fence: m[2], info: m[3].trim() };
  };
  const isHeading = (line) => /^ {0,3}#{1,6}([ \t]|$)/.test(line);
  const isRule = (line) => /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/.test(line);
  const isQuote = (line) => /^ {0,3}>/.test(line);

  function listMarker(line) {
    const m = /^( *)([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$/.exec(line);
    if (!m) return null;
    const ordered = /\d/.test(m[2][0]);
    return {
      indent: m[1].length,
      ordered,
      kind: ordered ? m[2].slice(-1) : m[2],
      start: ordered ? parseInt(m[2], 10) : 1,
      content: m[4],
      contentIndent: m[1].length + m[2].length + Math.max(1, Math.min(m[3].length, 4)),
    };
  }

  function isTableSeparator(line) {
    return /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/.test(line) &&
           line.includes("-");
  }

  function startsTable(lines, i) {
    return i + 1 < lines.length && lines[i].includes("|") && isTableSeparator(lines[i + 1]);
  }

  function startsBlock(lines, i) {
    const line = lines[i];
    return fenceOpen(line) !== null || isHeading(line) || isRule(line) || isQuote(line) ||
           listMarker(line) !== null || startsTable(lines, i);
  }

  function renderBlocks(lines, parent, depth) {
    if (depth > kMaxDepth) {
      const p = el("p");
      p.textContent = lines.join("\n");
      parent.append(p);
      return;
    }
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (isBlank(line)) {
        i++;
        continue;
      }
      const fence = fenceOpen(line);
      if (fence) {
        i = renderFence(lines, i, fence, parent);
      } else if (isHeading(line)) {
        const m = /^ {0,3}(#{1,6})[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
        const h = el("h" + m[1].length);
        renderInline(m[2], h, depth);
        parent.append(h);
        i++;
      } else if (isRule(line)) {
        parent.append(el("hr"));
        i++;
      } else if (isQuote(line)) {
        const inner = [];
        while (i < lines.length && isQuote(lines[i])) {
          inner.push(lines[i].replace(/^ {0,3}> ?/, ""));
          i++;
        }
        const quote = el("blockquote");
        renderBlocks(inner, quote, depth + 1);
        parent.append(quote);
      } else if (listMarker(line)) {
        i = renderList(lines, i, parent, depth);
      } else if (startsTable(lines, i)) {
        i = renderTable(lines, i, parent, depth);
      } else {
        const text = [line];
        i++;
        while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines, i)) {
          text.push(lines[i]);
          i++;
        }
        const p = el("p");
        renderInline(text.join("\n"), p, depth);
        parent.append(p);
      }
    }
  }

  function renderFence(lines, i, open, parent) {
    const body = [];
    i++;
    while (i < lines.length) {
      const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
      if (m && m[1][0] === open.fence[0] && m[1].length >= open.fence.length) {
        i++;
        break;
      }
      let line = lines[i];
      for (let k = 0; k < open.indent && line.startsWith(" "); k++) line = line.slice(1);
      body.push(line);
      i++;
    }
    const pre = el("pre");
    const code = el("code");
    if (open.info) code.dataset.lang = open.info.split(/[ \t]/)[0];
    code.textContent = body.join("\n");
    pre.append(code);
    parent.append(pre);
    return i;
  }

  function renderList(lines, i, parent, depth) {
    const first = listMarker(lines[i]);
    const list = el(first.ordered ? "ol" : "ul");
    if (first.ordered && first.start !== 1) list.start = first.start;
    const base = first.indent;
    const sibling = (m) => m && m.indent <= base + 1 && m.ordered === first.ordered &&
                           m.kind === first.kind;
    let item = null;
    let itemLines = [];
    let contentIndent = 0;
    const flush = () => {
      if (!item) return;
      renderBlocks(itemLines, item, depth + 1);
      list.append(item);
    };
    while (i < lines.length) {
      const line = lines[i];
      const marker = listMarker(line);
      if (sibling(marker) && !isRule(line)) {
        flush();
        item = el("li");
        itemLines = [marker.content];
        contentIndent = marker.contentIndent;
        i++;
      } else if (isBlank(line)) {
        let j = i + 1;
        while (j < lines.length && isBlank(lines[j])) j++;
        if (j >= lines.length || !(indentOf(lines[j]) > base || sibling(listMarker(lines[j])))) break;
        itemLines.push("");
        i++;
      } else if (indentOf(line) > base) {
        itemLines.push(line.slice(Math.min(indentOf(line), contentIndent)));
        i++;
      } else if (!startsBlock(lines, i) && !isBlank(itemLines[itemLines.length - 1])) {
        itemLines.push(line);  // a lazy continuation of the item's paragraph
        i++;
      } else {
        break;
      }
    }
    flush();
    parent.append(list);
    return i;
  }

  function splitRow(line) {
    let s = line.trim();
    if (s.startsWith("|")) s = s.slice(1);
    if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
    const cells = [];
    let cell = "";
    for (let k = 0; k < s.length; k++) {
      if (s[k] === "\\" && s[k + 1] === "|") {
        cell += "|";
        k++;
      } else if (s[k] === "|") {
        cells.push(cell.trim());
        cell = "";
      } else {
        cell += s[k];
      }
    }
    cells.push(cell.trim());
    return cells;
  }

  function renderTable(lines, i, parent, depth) {
    const head = splitRow(lines[i]);
    const aligns = splitRow(lines[i + 1]).map((c) =>
        c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : "");
    const wrap = el("div", "table-wrap");
    const table = el("table");
    const row = (cells, tag) => {
      const tr = el("tr");
      for (let k = 0; k < head.length; k++) {
        const cell = el(tag);
        if (aligns[k]) cell.className = "align-" + aligns[k];
        renderInline(cells[k] || "", cell, depth);
        tr.append(cell);
      }
      return tr;
    };
    const thead = el("thead");
    thead.append(row(head, "th"));
    table.append(thead);
    const tbody = el("tbody");
    i += 2;
    while (i < lines.length && !isBlank(lines[i]) && lines[i].includes("|")) {
      tbody.append(row(splitRow(lines[i]), "td"));
      i++;
    }
    table.append(tbody);
    wrap.append(table);
    parent.append(wrap);
    return i;
  }

  // ---- inline spans ----

  const isSpace = (c) => c === undefined || /\s/.test(c);
  const isWordChar = (c) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

  // Code spans of `text`, found in one pass so that no scan is repeated: for the start of each
  // run of backticks, the start of the next run of the same length (its closer), or -1.
  function codeSpans(text) {
    const runs = [];
    for (let j = text.indexOf("`"); j >= 0; j = text.indexOf("`", j)) {
      let n = 1;
      while (text[j + n] === "`") n++;
      runs.push([j, n]);
      j += n;
    }
    const closer = new Map();
    const nextOfLength = new Map();
    for (let k = runs.length - 1; k >= 0; k--) {
      const [j, n] = runs[k];
      closer.set(j, nextOfLength.has(n) ? nextOfLength.get(n) : -1);
      nextOfLength.set(n, j);
    }
    return closer;
  }

  // Past the backtick run at `j`: after its code span when it has a closer, else after the run.
  function skipCode(text, spans, j) {
    let n = 1;
    while (text[j + n] === "`") n++;
    const end = spans.get(j);
    return end !== undefined && end >= 0 ? end + n : j + n;
  }

  // The closing delimiter (`size` times `c`) for an opener ending at `from`, or -1. Skips
  // escapes, code spans and delimiter runs of another length.
  function findCloser(text, scan, c, size, from) {
    for (let j = from; j < text.length; j++) {
      const ch = text[j];
      if (ch === "\\") {
        j++;
      } else if (ch === "`") {
        j = skipCode(text, scan.spans, j) - 1;
      } else if (ch === c) {
        let n = 1;
        while (text[j + n] === c) n++;
        const flanking = !isSpace(text[j - 1]) && (c !== "_" || !isWordChar(text[j + n]));
        if (n === size && flanking && j > from) return j;
        j += n - 1;
      }
    }
    return -1;
  }

  // [label](url "title") starting at `i` (text[i] is "["): {label, url, title, end} or null.
  // Each part has a length bound, which bounds the work a run of "[" or "[a](" can cause.
  const kMaxLabel = 1000;
  const kMaxDestination = 2048;
  function parseLink(text, scan, i) {
    let level = 0;
    let j = i;
    const limit = Math.min(text.length, i + kMaxLabel);
    for (; j < limit; j++) {
      const ch = text[j];
      if (ch === "\\") {
        j++;
      } else if (ch === "`") {
        j = skipCode(text, scan.spans, j) - 1;
      } else if (ch === "[") {
        level++;
      } else if (ch === "]" && --level === 0) {
        break;
      }
    }
    if (j >= limit || text[j] !== "]" || text[j + 1] !== "(") return null;
    if (j + 2 > scan.lastParen) return null;  // no ")" left to close a destination
    const label = text.slice(i + 1, j);
    let k = j + 2;
    while (text[k] === " ") k++;
    let url = "";
    const end = Math.min(text.length, k + kMaxDestination);
    if (text[k] === "<") {
      const close = text.indexOf(">", k);
      if (close < 0 || close >= end) return null;
      url = text.slice(k + 1, close);
      k = close + 1;
    } else {
      let parens = 0;
      const start = k;
      for (; k < end && !/\s/.test(text[k]); k++) {
        if (text[k] === "(") parens++;
        else if (text[k] === ")" && --parens < 0) break;
      }
      url = text.slice(start, k);
    }
    while (text[k] === " ") k++;
    let title = "";
    const quote = text[k];
    if (quote === "\"" || quote === "'") {
      const close = text.indexOf(quote, k + 1);
      if (close < 0 || close - k > kMaxLabel) return null;
      title = text.slice(k + 1, close);
      k = close + 1;
      while (text[k] === " ") k++;
    }
    if (text[k] !== ")") return null;
    return { label, url, title, end: k + 1 };
  }

  // A bare URL's length at `i` (after trailing punctuation is dropped), or 0.
  const kBareUrl = /(?:https?:\/\/|mailto:)[^\s<>"'`]+/iy;
  const kAutolink = /<((?:https?:\/\/|mailto:)[^\s<>]*)>/iy;

  function matchAt(re, text, i) {
    re.lastIndex = i;
    return re.exec(text);
  }

  function bareUrlLength(text, i) {
    if (isWordChar(text[i - 1])) return 0;
    const m = matchAt(kBareUrl, text, i);
    if (!m) return 0;
    let url = m[0];
    for (;;) {
      const last = url[url.length - 1];
      if (/[.,;:!?*_~]/.test(last)) {
        url = url.slice(0, -1);
      } else if (last === ")" &&
                 (url.match(/\(/g) || []).length < (url.match(/\)/g) || []).length) {
        url = url.slice(0, -1);
      } else {
        break;
      }
    }
    return /^(?:https?:\/\/|mailto:)./i.test(url) ? url.length : 0;
  }

  function makeLink(href, title) {
    const a = el("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    if (title) a.title = title;
    return a;
  }

  function renderInline(text, parent, depth, inLink = false) {
    if (depth > kMaxDepth) {
      parent.append(text);
      return;
    }
    let buffer = "";
    const flush = () => {
      if (buffer) parent.append(buffer);
      buffer = "";
    };
    const missing = new Set();  // delimiters with no closer after this point
    // What the scans of this text need, computed once.
    const scan = { spans: codeSpans(text), lastParen: text.lastIndexOf(")") };
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === "\\" && i + 1 < text.length && (text[i + 1] === "\n" || kPunct.test(text[i + 1]))) {
        if (text[i + 1] === "\n") {
          flush();
          parent.append(el("br"));
        } else {
          buffer += text[i + 1];
        }
        i += 2;
        continue;
      }
      if (c === "\n") {
        buffer = buffer.replace(/[ \t]+$/, "");
        flush();
        parent.append(el("br"));
        i++;
        continue;
      }
      if (c === "`") {
        let run = 1;
        while (text[i + run] === "`") run++;
        const end = scan.spans.get(i);
        if (end !== undefined && end >= 0) {
          flush();
          let content = text.slice(i + run, end).replace(/\n/g, " ");
          if (/^ .*[^ ].* $/.test(content)) content = content.slice(1, -1);
          const code = el("code");
          code.textContent = content;
          parent.append(code);
          i = end + run;
        } else {
          buffer += "`".repeat(run);
          i += run;
        }
        continue;
      }
      if (!inLink && (c === "[" || (c === "!" && text[i + 1] === "["))) {
        const image = c === "!";
        const link = parseLink(text, scan, image ? i + 1 : i);
        if (link) {
          flush();
          const href = safeUrl(link.url);
          if (image) {
            // Never loaded: shown as a link to the image.
            const label = "[image" + (link.label ? ": " + link.label : "") + "]";
            if (href) {
              const a = makeLink(href, link.title);
              a.textContent = label;
              parent.append(a);
            } else {
              parent.append(label);
            }
          } else if (href) {
            const a = makeLink(href, link.title);
            renderInline(link.label, a, depth + 1, true);
            parent.append(a);
          } else {
            const span = el("span", "unsafe-link");
            span.title = "link not followed: only http, https and mailto links are shown";
            renderInline(link.label, span, depth + 1, inLink);
            parent.append(span);
          }
          i = link.end;
          continue;
        }
      }
      if (!inLink && c === "<") {
        const m = matchAt(kAutolink, text, i);
        const href = m && safeUrl(m[1]);
        if (href) {
          flush();
          const a = makeLink(href);
          a.textContent = m[1];
          parent.append(a);
          i += m[0].length;
          continue;
        }
      }
      if (!inLink && (c === "h" || c === "H" || c === "m" || c === "M")) {
        const n = bareUrlLength(text, i);
        const href = n && safeUrl(text.slice(i, i + n));
        if (href) {
          flush();
          const a = makeLink(href);
          a.textContent = text.slice(i, i + n);
          parent.append(a);
          i += n;
          continue;
        }
      }
      if (c === "*" || c === "_" || c === "~") {
        let run = 1;
        while (text[i + run] === c) run++;
        const opens = !isSpace(text[i + run]) && (c !== "_" || !isWordChar(text[i - 1]));
        let matched = false;
        const sizes = c === "~" ? [2] : [3, 2, 1];
        for (const size of sizes) {
          if (!opens || size > run) continue;
          const key = c + size;
          if (missing.has(key)) continue;
          const close = findCloser(text, scan, c, size, i + run);
          if (close < 0) {
            missing.add(key);
            continue;
          }
          buffer += c.repeat(run - size);
          flush();
          const inner = text.slice(i + run, close);
          let node;
          if (size === 3) {
            node = el("strong");
            const em = el("em");
            renderInline(inner, em, depth + 1, inLink);
            node.append(em);
          } else {
            node = el(c === "~" ? "del" : size === 2 ? "strong" : "em");
            renderInline(inner, node, depth + 1, inLink);
          }
          parent.append(node);
          i = close + size;
          matched = true;
          break;
        }
        if (!matched) {
          buffer += c.repeat(run);
          i += run;
        }
        continue;
      }
      buffer += c;
      i++;
    }
    flush();
  }

  // Replaces the children of `container` with `text` rendered as Markdown.
  function render(text, container) {
    container.replaceChildren();
    if (text.length > kMaxText) {
      const pre = el("pre", "plain");
      pre.textContent = text;
      container.append(pre);
      return;
    }
    const lines = text.replace(/\r\n?/g, "\n").split("\n")
        .map((line) => line.replace(/^\t+/, (tabs) => "    ".repeat(tabs.length)));
    renderBlocks(lines, container, 0);
  }

  window.ChatMarkdown = { render, safeUrl };
})();
