// agentctl: a command-line client of agent-gateway (see client/agentctl_app.h).
#include "client/agentctl_app.h"

int main(int argc, char** argv) { return agentgateway::client::AgentctlMain(argc, argv); }
