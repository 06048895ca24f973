// agentctl: the command line over AgentClient (gRPC door) and RestDoor (REST door).
//
//   agentctl invoke [--target HOST:PORT | --rest URL] [--profile P] [--json] "question"
//   agentctl health [--service NAME]
//   agentctl profiles
//
// Human output: the answer's text on stdout as it streams; tool calls, approval requests and
// the policy's answers as one line each on stderr; errors as one line on stderr
// (`agentctl: <CODE>: <message>`). --json: every event's JSON on stdout, one per line.
#ifndef AGENTGATEWAY_CLIENT_AGENTCTL_APP_H_
#define AGENTGATEWAY_CLIENT_AGENTCTL_APP_H_

namespace agentgateway::client {

// Exit codes (also in --help and README.md).
inline constexpr int kExitOk = 0;             // the call succeeded (health: SERVING)
inline constexpr int kExitCallFailed = 1;     // gRPC status / HTTP error / error frame; NOT_SERVING
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitUnreachable = 3;    // could not connect to the gateway (after retries)
inline constexpr int kExitAwaitsCaller = 4;   // the answer waits for an approval or a function output

// Runs agentctl on stdout/stderr; returns the exit code.
int AgentctlMain(int argc, char** argv);

}  // namespace agentgateway::client

#endif  // AGENTGATEWAY_CLIENT_AGENTCTL_APP_H_
