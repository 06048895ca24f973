// Transport security of the gRPC listener, from the `listen.grpc` config section.
#ifndef AGENTGATEWAY_SERVER_GRPC_CREDENTIALS_H_
#define AGENTGATEWAY_SERVER_GRPC_CREDENTIALS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/config.h"

namespace agentgateway {

// Insecure when `tls` is not enabled; TLS with the configured key pair; with `client_ca_file`,
// mutual TLS: clients must present a certificate signed by that CA or the handshake fails.
// NOT_FOUND / INVALID_ARGUMENT naming the file when a file cannot be read or is not PEM.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const ListenerTls& tls);

// Reads a whole file (certificates, keys). NOT_FOUND naming `what` and the path on failure.
absl::StatusOr<std::string> ReadTextFile(const std::string& path, const std::string& what);

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_GRPC_CREDENTIALS_H_
