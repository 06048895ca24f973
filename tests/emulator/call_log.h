// CallLog: every request to the model endpoints (Chat Completions, knowledge assistants) and to
// the managed MCP servers, for tests (GET /emulator/calls?limit=N, Emulator::Calls()). A ring of
// the last kCapacity records.
//
// Shared by every session of one Emulator (owned by the Router); thread-safe. Records hold no
// token, only who the call ran as.
#ifndef AGENTGATEWAY_TESTS_EMULATOR_CALL_LOG_H_
#define AGENTGATEWAY_TESTS_EMULATOR_CALL_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "boost/json/array.hpp"
#include "tests/emulator/record_ring.h"

namespace agentgateway::emulator {

struct CallRecord {
  std::string kind;        // "model", "knowledge_assistant" or "mcp"
  std::string method;      // HTTP method
  std::string path;        // request path, without the query
  std::string rpc_method;  // MCP: the JSON-RPC method ("" when the body did not parse)
  std::string tool;        // MCP tools/call: the tool name; model: the tools called, comma-separated
  std::string arguments;   // MCP tools/call: the arguments as JSON text
  std::string identity;    // "app:<id>", "user:<user>", "static"; "" when refused with 401
  std::string session_id;  // MCP: the Mcp-Session-Id sent (or issued by initialize)
  std::string question;    // model: the last user message
  bool stream = false;     // model: "stream": true; MCP: answered as SSE
  int status = 0;          // HTTP status answered; 0 for a reset or a hang
};

class CallLog {
 public:
  static constexpr std::size_t kCapacity = RecordRing<CallRecord>::kCapacity;
  static constexpr std::size_t kMaxTextBytes = 4096;

  void Add(CallRecord record) {
    CutToUtf8(record.question, kMaxTextBytes);
    CutToUtf8(record.arguments, kMaxTextBytes);
    ring_.Add(std::move(record));
  }
  // The most recent `limit` records, oldest first.
  std::vector<CallRecord> Recent(std::size_t limit) const { return ring_.Recent(limit); }
  boost::json::array RecentJson(std::size_t limit) const;
  // Records added since the last Clear (may exceed kCapacity).
  uint64_t total() const { return ring_.total(); }
  void Clear() { ring_.Clear(); }

 private:
  RecordRing<CallRecord> ring_;
};

}  // namespace agentgateway::emulator

#endif  // AGENTGATEWAY_TESTS_EMULATOR_CALL_LOG_H_
