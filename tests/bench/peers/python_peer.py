"""Peer (c) of tests/bench/run.sh: a minimal Python agent server in the shape of the Databricks
agent templates' server (FastAPI, one `POST /invocations`, ResponsesAgent-style request and
answer), calling the Supervisor API (here: the emulator) with one shared httpx.AsyncClient.

Environment:
  UPSTREAM_URL    base URL just before /responses (e.g. http://127.0.0.1:9000/ai-gateway/mlflow/v1)
  UPSTREAM_TOKEN  bearer token sent upstream (default "bench")
  UPSTREAM_MODEL  model name sent upstream (default "bench-model")
  PEER_MAX_CONNECTIONS  httpx pool size (default 1000, the OpenAI Python SDK's default)

Run (one worker: one server core, as every other path):
  /usr/bin/python3 -m uvicorn python_peer:app --loop uvloop --http httptools --workers 1 \
      --no-access-log --host 127.0.0.1 --port PORT
"""
import json
import os

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:9000/ai-gateway/mlflow/v1")
UPSTREAM_TOKEN = os.environ.get("UPSTREAM_TOKEN", "bench")
UPSTREAM_MODEL = os.environ.get("UPSTREAM_MODEL", "bench-model")
MAX_CONNECTIONS = int(os.environ.get("PEER_MAX_CONNECTIONS", "1000"))

app = FastAPI()
# One client for the process: a keep-alive pool shared by every request.
client = httpx.AsyncClient(
    base_url=UPSTREAM_URL,
    headers={"Authorization": f"Bearer {UPSTREAM_TOKEN}"},
    limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=100),
    timeout=httpx.Timeout(600.0, connect=10.0),
)


@app.on_event("shutdown")
async def _close_client():
    await client.aclose()


def upstream_request(body):
    """The Responses request the agent sends for one /invocations call."""
    return {"model": UPSTREAM_MODEL, "input": body.get("input", []),
            "stream": bool(body.get("stream", False))}


async def relay_events(payload):
    """Parses each upstream SSE event's JSON and re-emits it as `data: <json>`."""
    async with client.stream("POST", "/responses", json=payload) as upstream:
        if upstream.status_code != 200:
            text = (await upstream.aread()).decode("utf-8", "replace")
            yield f"data: {json.dumps({'type': 'error', 'message': text})}\n\n"
            return
        data = []
        async for line in upstream.aiter_lines():
            line = line.rstrip("\r\n")  # httpx 0.23 keeps the line ending
            if line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif line == "" and data:
                text = "\n".join(data)
                data = []
                if text == "[DONE]":
                    continue
                event = json.loads(text)
                yield f"data: {json.dumps(event)}\n\n"
    yield "data: [DONE]\n\n"


@app.post("/invocations")
async def invocations(request: Request):
    body = await request.json()
    payload = upstream_request(body)
    if payload["stream"]:
        return StreamingResponse(relay_events(payload), media_type="text/event-stream")
    upstream = await client.post("/responses", json=payload)
    return JSONResponse(upstream.json(), status_code=upstream.status_code)


@app.get("/health")
async def health():
    return {"status": "ok"}
