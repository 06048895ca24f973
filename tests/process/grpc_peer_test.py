#!/usr/bin/python3
"""gRPC health and reflection of the real agent-gateway binary, seen by a client that is not
the project's own: Debian's python3-grpcio, with stubs generated here from the standard protos.

Checks: grpc.health.v1 Check (overall, per service, unknown service); server reflection
(v1alpha) lists the services and serves AgentService's descriptor, from which a dynamic client
calls GetAgentInfo; on SIGTERM a health Watch turns NOT_SERVING while a call is still in flight
(its upstream never answers, so the drain waits for it), and the process then exits 0. Then,
with OAuth M2M against supervisor-emulator's token endpoint: health is NOT_SERVING while no
app token can be obtained and turns SERVING once the endpoint answers (as REST /readyz does).

Usage: grpc_peer_test.py /path/to/agent-gateway /path/to/supervisor-emulator
"""
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request

PROTO_ROOT = "/usr/share/grpc-proto"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def generate_stubs(out_dir):
    # Copied flat, so the generated modules are `health_pb2` and `reflection_pb2` and do not
    # collide with the grpc library's own package name.
    for src in ["grpc/health/v1/health.proto", "grpc/reflection/v1alpha/reflection.proto"]:
        with open(os.path.join(PROTO_ROOT, src)) as f, \
                open(os.path.join(out_dir, os.path.basename(src)), "w") as out:
            out.write(f.read())
    subprocess.run(["protoc", "-I" + out_dir, "--python_out=" + out_dir,
                    "--grpc_out=" + out_dir,
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    "health.proto", "reflection.proto"], check=True)
    sys.path.insert(0, out_dir)


class SilentUpstream:
    """Accepts connections and reads requests, never answers: calls stay in flight."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()


def start_gateway(binary, upstream_port, env=None):
    env = dict(env or os.environ, AGENTGATEWAY_DRAIN_GRACE_MS="3000")
    proc = subprocess.Popen(
        [binary, "--http-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
         "--upstream", "http://127.0.0.1:%d/ai-gateway/mlflow/v1" % upstream_port],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=20)
        except queue.Empty:
            proc.kill()
            fail("no ready banner from agent-gateway")
        m = re.search(r"gRPC\s*:\s*[0-9.]+:(\d+)", line)
        if m:
            return proc, int(m.group(1))


def start_emulator(binary):
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--oauth-client", "gw:s3cret"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()  # its one start-up line, once bound
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        fail("supervisor-emulator did not start: %r" % line)
    return proc, int(m.group(1))


def watch_until(watch, wanted, what):
    """Reads a health Watch until it reports `wanted` (the Watch's deadline bounds it)."""
    import grpc
    try:
        for answer in watch:
            if answer.status == wanted:
                return
    except grpc.RpcError as e:
        fail("health Watch ended (%s) before %s" % (e.code(), what))
    fail("health Watch ended before %s" % what)


def check_token_readiness(gateway_bin, emulator_bin, health_pb2, health_pb2_grpc):
    import grpc
    emulator, emulator_port = start_emulator(emulator_bin)
    proc = None
    try:
        def token_endpoint(fail_status):
            urllib.request.urlopen(urllib.request.Request(
                "http://127.0.0.1:%d/emulator/token-endpoint?fail=%d" % (emulator_port, fail_status),
                data=b"", method="POST"), timeout=10).read()
        token_endpoint(503)
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABRICKS_HOST", "DATABRICKS_TOKEN")}
        env.update(DATABRICKS_CLIENT_ID="gw", DATABRICKS_CLIENT_SECRET="s3cret")
        proc, port = start_gateway(gateway_bin, emulator_port, env)
        channel = grpc.insecure_channel("127.0.0.1:%d" % port)
        health = health_pb2_grpc.HealthStub(channel)
        status = health_pb2.HealthCheckResponse
        for service in ["", "agentgateway.v1.AgentService"]:
            watch = health.Watch(health_pb2.HealthCheckRequest(service=service), timeout=30)
            watch_until(watch, status.NOT_SERVING,
                        "NOT_SERVING for %r while the token endpoint fails" % service)
            watch.cancel()
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=60)
        watch_until(watch, status.NOT_SERVING, "NOT_SERVING (again)")
        token_endpoint(0)
        watch_until(watch, status.SERVING, "SERVING once the token endpoint answers")
        watch.cancel()
        proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=30) != 0:
            fail("agent-gateway (OAuth) did not exit 0 after SIGTERM")
    finally:
        for p in (proc, emulator):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def main():
    if len(sys.argv) != 3:
        fail("usage: grpc_peer_test.py AGENT_GATEWAY_BINARY SUPERVISOR_EMULATOR_BINARY")
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    work = tempfile.mkdtemp(prefix="grpc-peer-")
    generate_stubs(work)
    import health_pb2
    import health_pb2_grpc
    import reflection_pb2
    import reflection_pb2_grpc

    upstream = SilentUpstream()
    proc, port = start_gateway(sys.argv[1], upstream.port)
    try:
        channel = grpc.insecure_channel("127.0.0.1:%d" % port)
        grpc.channel_ready_future(channel).result(timeout=20)

        # Health, overall and per service.
        health = health_pb2_grpc.HealthStub(channel)
        serving = health_pb2.HealthCheckResponse.SERVING
        for service in ["", "agentgateway.v1.AgentService"]:
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
            if status != serving:
                fail("health of %r is %s, expected SERVING" % (service, status))
        try:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
            fail("an unknown service's health should be NOT_FOUND")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                fail("unknown service: %s, expected NOT_FOUND" % e.code())

        # Reflection: list the services, fetch AgentService's file with its dependencies.
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="agentgateway.v1.AgentService")]
        answers = list(reflection.ServerReflectionInfo(iter(requests), timeout=10))
        services = {s.name for s in answers[0].list_services_response.service}
        for expected in ["agentgateway.v1.AgentService", "grpc.health.v1.Health",
                         "grpc.reflection.v1alpha.ServerReflection"]:
            if expected not in services:
                fail("reflection does not list %s (got %s)" % (expected, sorted(services)))
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in answers[1].file_descriptor_response.file_descriptor_proto]
        pool = descriptor_pool.DescriptorPool()
        pending = list(files)
        while pending:  # add each file after its dependencies
            progress = False
            for f in list(pending):
                try:
                    pool.Add(f)
                    pending.remove(f)
                    progress = True
                except TypeError:
                    pass
            if not progress:
                fail("reflection's files do not resolve: %s" % [f.name for f in pending])
        factory = message_factory.MessageFactory(pool)
        message_class = factory.GetPrototype  # protobuf 4.21 (Debian 12)
        service = pool.FindServiceByName("agentgateway.v1.AgentService")
        methods = {m.name for m in service.methods}
        for expected in ["Invoke", "Stream", "GetResponse", "GetAgentInfo"]:
            if expected not in methods:
                fail("AgentService from reflection lacks %s (has %s)" % (expected, methods))

        # Call a method knowing only what reflection said.
        method = service.FindMethodByName("GetAgentInfo")
        request_class = message_class(method.input_type)
        response_class = message_class(method.output_type)
        call = channel.unary_unary("/agentgateway.v1.AgentService/GetAgentInfo",
                                   request_serializer=request_class.SerializeToString,
                                   response_deserializer=response_class.FromString)
        info = call(request_class(), timeout=10)
        if info.name != "agent-gateway" or info.agent_api != "responses":
            fail("GetAgentInfo through reflection answered %s" % info)

        # Drain: a call is in flight (its upstream never answers); SIGTERM turns health
        # NOT_SERVING for watchers at once, the call ends after the grace, the process exits 0.
        invoke = service.FindMethodByName("Invoke")
        invoke_request = message_class(invoke.input_type)()
        item = invoke_request.input.add()
        item.role = "user"
        item.text = "hello"
        invoke_call = channel.unary_unary(
            "/agentgateway.v1.AgentService/Invoke",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_class(invoke.output_type).FromString)
        in_flight = invoke_call.future(invoke_request, timeout=30)
        if not upstream.accepted.wait(20):
            fail("the call never reached the upstream")
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=20)
        first = next(watch)
        if first.status != serving:
            fail("health Watch began with %s, expected SERVING" % first.status)
        proc.send_signal(signal.SIGTERM)
        second = next(watch)
        if second.status != health_pb2.HealthCheckResponse.NOT_SERVING:
            fail("after SIGTERM health Watch said %s, expected NOT_SERVING" % second.status)
        try:
            in_flight.result()
            fail("the call in flight should have ended with UNAVAILABLE after the grace")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE:
                fail("the call in flight ended with %s, expected UNAVAILABLE" % e.code())
        code = proc.wait(timeout=30)
        if code != 0:
            fail("agent-gateway exited %d after SIGTERM, expected 0" % code)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check_token_readiness(sys.argv[1], sys.argv[2], health_pb2, health_pb2_grpc)
    print("OK: health, reflection, a reflected call, the drain and token readiness, "
          "seen by python3-grpcio")


if __name__ == "__main__":
    main()
