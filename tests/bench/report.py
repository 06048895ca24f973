#!/usr/bin/env python3
"""Turns one run.sh run (wrk outputs + grpc_load JSON lines) into the markdown report.

Reads from --dir: json_direct.wrk, json_gateway.wrk, sse_direct.wrk, sse_gateway.wrk,
grpc_stream.json, grpc_invoke.json (a missing or failed scenario shows as "failed").
Standard library only.
"""
import argparse
import json
import os
import re

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else None


def parse_wrk(path):
    """Requests/sec, p50/p99 (ms) and error count from `wrk --latency` output, or None."""
    if not os.path.exists(path):
        return None
    text = open(path).read()
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    if not (rps and p50 and p99 and total):
        return None
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return {"rps": float(rps.group(1)), "p50": _ms(p50.group(1)), "p99": _ms(p99.group(1)),
            "calls": int(total.group(1)), "errors": errors}


def parse_grpc(path):
    """The grpc_load JSON line, renamed to the wrk fields, or None."""
    try:
        line = open(path).read().strip().splitlines()[-1]
        d = json.loads(line)
    except (OSError, IndexError, ValueError):
        return None
    d.update(p50=d["p50_ms"], p99=d["p99_ms"])
    return d


def upstream_calls(directory, name):
    """How many /responses requests the emulator served during a scenario, or None."""
    try:
        with open(os.path.join(directory, name + ".stats")) as f:
            return json.load(f).get("responses_requests")
    except (OSError, ValueError):
        return None


def _num(v, digits=1):
    return "failed" if v is None else f"{v:,.{digits}f}"


def _ratio(gw, direct, key):
    if not gw or not direct or not direct.get(key) or gw.get(key) is None:
        return "–"
    return f"{gw[key] / direct[key]:.2f}×"


def render(args):
    d = args.dir
    json_direct = parse_wrk(os.path.join(d, "json_direct.wrk"))
    json_gw = parse_wrk(os.path.join(d, "json_gateway.wrk"))
    sse_direct = parse_wrk(os.path.join(d, "sse_direct.wrk"))
    sse_gw = parse_wrk(os.path.join(d, "sse_gateway.wrk"))
    stream = parse_grpc(os.path.join(d, "grpc_stream.json"))
    invoke = parse_grpc(os.path.join(d, "grpc_invoke.json"))

    rows = [
        ("REST JSON", "direct: emulator `POST …/responses`", "wrk", "json_direct", json_direct,
         None),
        ("REST JSON", "gateway: `POST /invocations`", "wrk", "json_gateway", json_gw,
         json_direct),
        ("REST SSE", "direct: emulator `POST …/responses` (stream)", "wrk", "sse_direct",
         sse_direct, None),
        ("REST SSE", "gateway: `POST /invocations` (stream)", "wrk", "sse_gateway", sse_gw,
         sse_direct),
        ("gRPC Stream", "gateway: `AgentService.Stream`, vs direct SSE", "grpc_load",
         "grpc_stream", stream, sse_direct),
        ("gRPC Invoke", "gateway: `AgentService.Invoke`, vs direct JSON", "grpc_load",
         "grpc_invoke", invoke, json_direct),
    ]
    out = [
        "# agent-gateway overhead benchmark",
        "",
        f"- date: {args.date}",
        f"- command: `{args.command}`",
        f"- commit: {args.commit}",
        f"- machine: `nproc` = {args.nproc}, CPU: {args.cpu}; load average before the run: "
        f"{args.load}",
        f"- pinning: {args.pinning}",
    ]
    if float(args.load.split()[0]) > 1.0:
        out.append(f"- **warning**: the machine was busy before the run (1-minute load "
                   f"{args.load.split()[0]} on {args.nproc} CPUs): other processes share the "
                   f"cores, so throughput and especially p99 are noisy; trust ratios of "
                   f"req/s and p50 more than p99")
    out += [
        f"- each scenario: {args.warmup} s warm-up (discarded), then {args.seconds} s measured, "
        f"{args.connections} connections / calls in flight (closed loop; wrk `-t1 "
        f"-c{args.connections} --latency`)",
        "- upstream: supervisor-emulator's default answer; direct rows send it the exact body "
        "the gateway sent upstream for that mode",
        "",
    ]
    out += [
        "| scenario | path | tool | req/s | p50 ms | p99 ms | errors | upstream calls "
        "| gateway/direct req/s | gateway/direct p50 | gateway/direct p99 |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, path, tool, key, r, base in rows:
        r = r or {}
        seen = upstream_calls(d, key)
        out.append(
            f"| {name} | {path} | {tool} | {_num(r.get('rps'))} | {_num(r.get('p50'), 3)} "
            f"| {_num(r.get('p99'), 3)} | {r.get('errors', 'failed')} "
            f"| {'?' if seen is None else f'{seen:,}'} "
            f"| {_ratio(r, base, 'rps') if base else '–'} "
            f"| {_ratio(r, base, 'p50') if base else '–'} "
            f"| {_ratio(r, base, 'p99') if base else '–'} |")
    out += [
        "",
        "gRPC detail (grpc_load, one HTTP/2 connection):",
        "",
        "| rpc | calls | events/s | time to first event p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in (stream, invoke):
        if r:
            out.append(f"| {r['rpc']} | {r['calls']:,} | {_num(r['events_per_s'])} "
                       f"| {_num(r['ttfb_p50_ms'], 3)} | {_num(r['ttfb_p99_ms'], 3)} "
                       f"| {r['errors']} |")
    out += [
        "",
        "Upstream calls: `/responses` requests the emulator served during the scenario "
        "(warm-up included); a gateway row must show at least its measured calls.",
        "",
        "Ratios: req/s below 1.00× is the share of direct throughput the gateway path keeps; "
        "latency above 1.00× is how many times longer a call takes through the gateway. "
        "Compare ratios within one run, not absolute figures across machines.",
        "",
    ]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    for flag in ("dir", "out", "command", "date", "nproc", "cpu", "load", "pinning", "seconds",
                 "warmup", "connections", "commit"):
        p.add_argument("--" + flag, required=True)
    args = p.parse_args()
    with open(args.out, "w") as f:
        f.write(render(args))


if __name__ == "__main__":
    main()
