// LoopbackClient: one blocking HTTP/1.1 client connection to 127.0.0.1, as bare as a client
// can be, so a test knows the exact moment it left: Close() is a single close(2).
//
// Not thread-safe; one owner. Reads are bounded by the timeout each call is given.
#ifndef AGENTGATEWAY_TESTS_TIMING_LOOPBACK_CLIENT_H_
#define AGENTGATEWAY_TESTS_TIMING_LOOPBACK_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace agentgateway::timing {

class LoopbackClient {
 public:
  // UNAVAILABLE when the connection is refused.
  static absl::StatusOr<std::unique_ptr<LoopbackClient>> Connect(uint16_t port);
  ~LoopbackClient();
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  absl::Status Send(std::string_view bytes);
  // Reads until `needle` is among the bytes received so far. UNAVAILABLE when the server
  // closed first, DEADLINE_EXCEEDED after `timeout`.
  absl::Status ReadUntil(std::string_view needle, std::chrono::milliseconds timeout);
  const std::string& received() const { return received_; }
  // Closes the socket (FIN, or RST when unread bytes are pending). Idempotent.
  void Close();

 private:
  explicit LoopbackClient(int fd) : fd_(fd) {}
  int fd_;
  std::string received_;
};

// A complete `POST path` request with a JSON body (keep-alive).
std::string JsonPost(std::string_view path, std::string_view json_body);

}  // namespace agentgateway::timing

#endif  // AGENTGATEWAY_TESTS_TIMING_LOOPBACK_CLIENT_H_
