#!/usr/bin/env python3
"""Turns one tests/bench/run.sh run into results/latest.md: one table per scenario, absolute
figures with ratios to (a) the emulator alone, (b) nginx and (c) the Python peer, and a
"Targets" table for issue 8. Standard library only; a missing or failed measurement shows as
"failed" (or "–" for a ratio), never as a number.

Reads from --dir (written by run.sh):
  sat_{a,b,c,d}.wrk      wrk --latency output plus "percentile_us P V" lines (Lua done())
  sat_{e,bare}.json      grpc_load --rpc invoke
  rate.target, rate_{a,b,c,d}.{log,target,h2load}  h2load --h1 --rps, per-request log
  sse_{a,b,c,d}.json     sse_load closed loop;  sse_{e,bare}.json  grpc_load --rpc stream
  hold_{d,e,b,c}.{json,rss}, hold.limits          held streams and the server's VmRSS
  cancel.md              cancel_latency's table
  *.stats                the emulator's counters after each measurement
"""
import argparse
import json
import os
import re

PATHS = {
    "a": "(a) emulator, direct",
    "b": "(b) nginx",
    "c": "(c) Python peer",
    "d": "(d) gateway REST",
    "e": "(e) gateway gRPC",
    "bare": "bare gRPC server",
}
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _read(directory, name):
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read()
    except OSError:
        return None


def _last_json(text, want=None):
    """The last JSON object line of `text` (with "mode" == want when given), or None."""
    for line in reversed((text or "").strip().splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if want is None or d.get("mode") == want:
            return d
    return None


def _ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else None


def parse_wrk(text):
    """req/s, p50/p99/p99.9 (ms), requests and errors from wrk (+ our done() lines)."""
    if not text:
        return None
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    if not (rps and total):
        return None
    pct = {float(p): int(v) / 1000.0
           for p, v in re.findall(r"^percentile_us (\S+) (\d+)", text, re.M)}
    if not pct:  # no Lua output: fall back to the --latency distribution
        for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M):
            pct[float(p)] = _ms(v)
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return {"rps": float(rps.group(1)), "calls": int(total.group(1)), "errors": errors,
            "p50": pct.get(50.0), "p99": pct.get(99.0), "p999": pct.get(99.9)}


def parse_grpc(text):
    """grpc_load's JSON line with the wrk-style keys added."""
    d = _last_json(text)
    if d is None:
        return None
    d["p50"], d["p99"], d["p999"] = d.get("p50_ms"), d.get("p99_ms"), d.get("p999_ms")
    return d


def _percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(-(-p / 100.0 * len(sorted_values) // 1)) - 1))
    return sorted_values[k]


def parse_rate(directory, p, seconds):
    """h2load --log-file: achieved rate, p50/p99/p99.9 (ms) and failures."""
    log = _read(directory, f"rate_{p}.log")
    summary = _read(directory, f"rate_{p}.h2load") or ""
    target = _read(directory, f"rate_{p}.target")
    if log is None:
        return None
    elapsed, bad = [], 0
    for line in log.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        if not parts[1].startswith("2"):
            bad += 1
        elapsed.append(int(parts[2]) / 1000.0)
    elapsed.sort()
    failed = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", summary)
    errors = bad + (int(failed.group(1)) + int(failed.group(3)) if failed else 0)
    return {"target": int(target) if target else None, "done": len(elapsed),
            "rps": len(elapsed) / seconds if seconds else None, "errors": errors,
            "p50": _percentile(elapsed, 50), "p99": _percentile(elapsed, 99),
            "p999": _percentile(elapsed, 99.9)}


def upstream_calls(directory, name):
    d = _last_json(_read(directory, name + ".stats"))
    return None if d is None else d.get("responses_requests")


def fmt(v, digits=1):
    if v is None:
        return "failed"
    return f"{v:,.{digits}f}"


def val(r, key, digits=1):
    """A measured field: "failed" when the measurement has no result, "n/a" when the tool
    does not report that field."""
    if not r:
        return "failed"
    if r.get(key) is None:
        return "n/a"
    return fmt(r[key], digits)


def ratio(x, y):
    return f"{x / y:.2f}×" if x is not None and y else "–"


def diff(x, y, digits=3):
    return f"{x - y:+.{digits}f}" if x is not None and y is not None else "–"


def table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def render(args):
    d = args.dir
    sat = {p: parse_wrk(_read(d, f"sat_{p}.wrk")) for p in "abcd"}
    sat.update({p: parse_grpc(_read(d, f"sat_{p}.json")) for p in ("e", "bare")})
    rate_target = _read(d, "rate.target")
    rate = {p: parse_rate(d, p, args.seconds) for p in "abcd"}
    sse = {p: _last_json(_read(d, f"sse_{p}.json")) for p in "abcd"}
    sse.update({p: parse_grpc(_read(d, f"sse_{p}.json")) for p in ("e", "bare")})
    hold = {p: (_last_json(_read(d, f"hold_{p}.json"), "hold"), _last_json(_read(d, f"hold_{p}.rss")))
            for p in "debc"}
    limits = (_read(d, "hold.limits") or "").split()
    cancel = _read(d, "cancel.md")

    out = [
        "# agent-gateway benchmark (issue 8)",
        "",
        f"- date: {args.date}",
        f"- command: `{args.command}`",
        f"- commit: {args.commit}",
        f"- machine: `nproc` = {args.nproc}, CPU: {args.cpu}",
        f"- load average before the run: {args.load}; after: {args.load_after}",
        f"- pinning: {args.pinning}",
        f"- upstream: one `supervisor-emulator --bench-answer {args.bench_answer} --threads 1` "
        f"serves every path",
        f"- each measurement: {args.warmup} s warm-up (discarded), then {args.seconds} s, "
        f"{args.connections} connections / calls in flight",
    ]
    if float(args.load.split()[0]) > 1.0:
        out.append(f"- **warning**: the machine was busy before the run (1-minute load "
                   f"{args.load.split()[0]} on {args.nproc} CPUs): throughput and tails are "
                   f"noisy; compare ratios within this run only")
    out.append("")

    # 1. saturation
    a, b, c = sat["a"], sat["b"], sat["c"]
    out += ["## Non-streaming, saturation (closed loop)", "",
            f"wrk `-t1 -c{args.connections}` on (a)-(d) (p99.9 from wrk's Lua `done()` hook); "
            f"`grpc_load --rpc invoke` on (e) and the bare server. Ratios are of req/s.", ""]
    rows = []
    for p in ("a", "b", "c", "d", "e", "bare"):
        r = sat[p] or {}
        rows.append([PATHS[p], val(r, "rps"), val(r, "p50", 3), val(r, "p99", 3),
                     val(r, "p999", 3), r.get("errors", "failed"),
                     fmt(upstream_calls(d, f"sat_{p}"), 0) if p != "bare" else "–",
                     ratio(r.get("rps"), (a or {}).get("rps")),
                     ratio(r.get("rps"), (b or {}).get("rps")),
                     ratio(r.get("rps"), (c or {}).get("rps"))])
    out += table(["path", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "upstream calls",
                  "× (a)", "× (b)", "× (c)"], rows)
    out.append("")

    # 2. fixed rate
    ra = rate["a"] or {}
    rb = rate["b"] or {}
    out += ["## Non-streaming, fixed rate", "",
            f"`h2load --h1 -c{args.connections} --rps` at half of (d)'s saturation rate "
            f"({(rate_target or '?').strip()} req/s asked, the same on every path); latency of "
            f"every request from `--log-file`. Added = path − (a), per percentile. A path that "
            f"cannot keep the rate shows it in *achieved*.", ""]
    rows = []
    for p in "abcd":
        r = rate[p] or {}
        added99 = (r.get("p99") - ra["p99"]) if r.get("p99") is not None and ra.get("p99") is not None else None
        nginx_added99 = (rb["p99"] - ra["p99"]) if rb.get("p99") is not None and ra.get("p99") is not None else None
        rows.append([PATHS[p], val(r, "target", 0), val(r, "rps"), r.get("errors", "failed"),
                     val(r, "p50", 3), val(r, "p99", 3), val(r, "p999", 3),
                     diff(r.get("p50"), ra.get("p50")), diff(r.get("p99"), ra.get("p99")),
                     diff(r.get("p999"), ra.get("p999")),
                     ratio(added99, nginx_added99) if p in "cd" and (nginx_added99 or 0) > 0
                     else "–"])
    out += table(["path", "asked req/s", "achieved req/s", "errors", "p50 ms", "p99 ms",
                  "p99.9 ms", "added p50", "added p99", "added p99.9",
                  "added p99 / nginx's"], rows)
    out.append("")

    # 3. streaming
    sa, sb, sc = sse["a"] or {}, sse["b"] or {}, sse["c"] or {}
    out += ["## Streaming, 200 × 100 B deltas (closed loop)", "",
            f"`sse_load -c{args.connections}` on (a)-(d); `grpc_load --rpc stream` on (e) and the "
            f"bare server. TTFB: request written → first event. Lag: receipt − the emulator's "
            f"send stamp of each delta (the bare server stamps its own). Added = path − (a). "
            f"Ratios are of events/s.", ""]
    rows = []
    for p in ("a", "b", "c", "d", "e", "bare"):
        r = sse[p] or {}
        rows.append([PATHS[p], val(r, "rps"), val(r, "events_per_s", 0),
                     val(r, "ttfb_p50_ms", 3), val(r, "ttfb_p99_ms", 3),
                     diff(r.get("ttfb_p50_ms"), sa.get("ttfb_p50_ms")) if p != "bare" else "–",
                     diff(r.get("ttfb_p99_ms"), sa.get("ttfb_p99_ms")) if p != "bare" else "–",
                     val(r, "lag_p50_ms", 3), val(r, "lag_p99_ms", 3),
                     val(r, "lag_p999_ms", 3), r.get("errors", "failed"),
                     ratio(r.get("events_per_s"), sa.get("events_per_s")),
                     ratio(r.get("events_per_s"), sb.get("events_per_s")),
                     ratio(r.get("events_per_s"), sc.get("events_per_s"))])
    out += table(["path", "streams/s", "events/s", "TTFB p50 ms", "TTFB p99 ms", "added TTFB p50",
                  "added TTFB p99", "lag p50 ms", "lag p99 ms", "lag p99.9 ms", "errors",
                  "× (a)", "× (b)", "× (c)"], rows)
    out.append("")

    # 4. held streams
    asked = limits[0] if limits else "?"
    capped = limits[1] if len(limits) > 1 else "?"
    nofile = limits[2] if len(limits) > 2 else "?"
    out += ["## Concurrent open streams", "",
            f"Streams ask for `[[drip-ms:1000]]` (one event a second) and are held for the "
            f"time given; the server's VmRSS is read from `/proc/PID/status` just before and "
            f"while all are held (per stream = difference / opened). Descriptor limit "
            f"{nofile}: a proxy holds two per stream, so (b), (c) and (d) are capped at "
            f"{capped} (asked {asked}); (e) multiplexes its callers on a few HTTP/2 connections.",
            ""]
    rows = []
    for p in "debc":
        r, rss = hold[p]
        r = r or {}
        rss = rss or {}
        opened = r.get("opened")
        per = None
        if opened and rss.get("rss_held_kib"):
            per = (rss["rss_held_kib"] - rss.get("rss_before_kib", 0)) / opened
        rows.append([PATHS[p], fmt(rss.get("streams") or r.get("streams"), 0), fmt(opened, 0),
                     r.get("errors", "failed"), fmt(r.get("open_ms"), 0),
                     fmt(rss.get("rss_before_kib"), 0), fmt(rss.get("rss_held_kib"), 0),
                     fmt(per, 2), {True: "yes", False: "**no**"}.get(rss.get("server_alive"), "?"),
                     fmt(rss.get("upstream_left_open"), 0)
                     if rss and rss.get("upstream_left_open", -1) >= 0 else "?",
                     (r.get("first_error") or "")[:80]])
    out += table(["path", "streams asked", "opened", "errors", "open ms", "RSS before KiB",
                  "RSS held KiB", "KiB / stream", "server alive", "upstream left open",
                  "first error"], rows, ["---"] + ["---:"] * 9 + ["---"])
    out += ["", "*upstream left open*: upstream connections still open 10 s after the load "
            "tool closed its streams (a proxy that does not pass the client's leaving on keeps "
            "relaying until the upstream ends: 208 s for a dripping stream)."]
    out.append("")

    # 5. cancel
    out += ["## Cancel-to-upstream-close", "",
            "`cancel_latency` (its own emulator in-process and a gateway child): time from the "
            "caller leaving to the emulator seeing the upstream connection close.", ""]
    out += (cancel.strip().splitlines() if cancel else ["failed (no cancel_latency output)"])
    out.append("")

    # targets
    out += ["## Targets (issue 8)", ""]
    out += targets(sat, rate, sse, hold, asked)
    out.append("")
    return "\n".join(out)


def _verdict(ok):
    return "–" if ok is None else ("met" if ok else "**not met**")


def targets(sat, rate, sse, hold, asked):
    def get(m, p, k):
        return (m.get(p) or {}).get(k)

    rows = []
    x = get(sat, "d", "rps")
    bb, cc = get(sat, "b", "rps"), get(sat, "c", "rps")
    v = x / bb if x and bb else None
    rows.append(["non-streaming saturation req/s ≥ 0.8× nginx's", fmt(v, 2) + "×" if v else "–",
                 _verdict(None if v is None else v >= 0.8)])
    v = x / cc if x and cc else None
    rows.append(["non-streaming saturation req/s ≥ 20× the Python peer's",
                 fmt(v, 1) + "×" if v else "–", _verdict(None if v is None else v >= 20)])
    ra, rb, rd = rate.get("a") or {}, rate.get("b") or {}, rate.get("d") or {}
    if all(r.get("p99") is not None for r in (ra, rb, rd)):
        gw_added, nginx_added = rd["p99"] - ra["p99"], rb["p99"] - ra["p99"]
        ok = gw_added <= 1.5 * max(nginx_added, 0.0)
        text = f"{gw_added:.3f} ms vs nginx {nginx_added:.3f} ms"
        if nginx_added > 0:
            text += f" ({gw_added / nginx_added:.2f}×)"
        rows.append(["added p99 at half the gateway's saturation rate ≤ 1.5× nginx's", text,
                     _verdict(ok)])
    else:
        rows.append(["added p99 at half the gateway's saturation rate ≤ 1.5× nginx's", "–", "–"])
    x, bb = get(sse, "d", "events_per_s"), get(sse, "b", "events_per_s")
    v = x / bb if x and bb else None
    rows.append(["streaming relayed events/s ≥ 0.8× nginx's", fmt(v, 2) + "×" if v else "–",
                 _verdict(None if v is None else v >= 0.8)])
    x, bb = get(sse, "d", "ttfb_p99_ms"), get(sse, "b", "ttfb_p99_ms")
    if x is not None and bb is not None:
        rows.append(["streaming added TTFB p99 within 0.3 ms of nginx's",
                     f"{x - bb:+.3f} ms (gateway − nginx)", _verdict(x - bb <= 0.3)])
    else:
        rows.append(["streaming added TTFB p99 within 0.3 ms of nginx's", "–", "–"])
    for p in "de":
        r, rss = hold.get(p, (None, None))
        label = f"{asked} concurrent streams, ≤ 32 KiB RSS each, zero errors: {PATHS[p]}"
        if not r or not rss or not r.get("opened"):
            rows.append([label, "failed", "**not met**" if r or rss else "–"])
            continue
        per = (rss["rss_held_kib"] - rss["rss_before_kib"]) / r["opened"]
        full = str(rss.get("streams")) == str(asked)
        ok = per <= 32 and r.get("errors") == 0 and full
        text = f"{r['opened']:,} held, {per:.2f} KiB each, {r.get('errors')} errors"
        if not full:
            text += f" (capped at {rss.get('streams'):,} by the descriptor limit)"
        rows.append([label, text, _verdict(ok) if full else
                     ("met at the cap" if per <= 32 and r.get("errors") == 0 else "**not met**")])
    x, bb = get(sse, "e", "events_per_s"), get(sse, "bare", "events_per_s")
    v = x / bb if x and bb else None
    rows.append(["gRPC Stream events/s ≥ 0.8× the bare callback server's",
                 fmt(v, 2) + "×" if v else "–", _verdict(None if v is None else v >= 0.8)])
    return table(["target", "measured", "verdict"], rows, ["---", "---", "---"])


def update_readme(path, text, args):
    """Replaces the README's block between the targets markers with this run's Targets table."""
    begin, end = "<!-- targets:begin -->", "<!-- targets:end -->"
    try:
        with open(path) as f:
            readme = f.read()
    except OSError:
        return
    if begin not in readme or end not in readme:
        return
    table_lines = text[text.index("## Targets (issue 8)"):].splitlines()[2:]
    block = [begin, f"From `{args.command}` at {args.commit}, {args.date} "
             f"(`nproc` {args.nproc}; full report in `results/latest.md`):", ""]
    block += [line for line in table_lines if line.strip()] + [end]
    head, rest = readme.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + "\n".join(block) + tail)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--readme", default=None,
                    help="README whose targets block gets this run's Targets table")
    for name in ("dir", "out", "command", "date", "nproc", "cpu", "load", "load-after",
                 "pinning", "warmup", "connections", "bench-answer", "commit"):
        ap.add_argument("--" + name, required=name in ("dir", "out"), default="?")
    ap.add_argument("--seconds", type=float, required=True)
    args = ap.parse_args()
    if args.load == "?":
        args.load = "0 0 0"
    text = render(args)
    with open(args.out, "w") as f:
        f.write(text)
    if args.readme:
        update_readme(args.readme, text, args)


if __name__ == "__main__":
    main()
