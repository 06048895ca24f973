#include "tests/emulator/call_log.h"

#include "boost/json/object.hpp"

namespace agentgateway::emulator {

boost::json::array CallLog::RecentJson(std::size_t limit) const {
  boost::json::array out;
  for (const CallRecord& r : Recent(limit)) {
    out.push_back(boost::json::object{{"kind", r.kind},
                                      {"method", r.method},
                                      {"path", r.path},
                                      {"rpc_method", r.rpc_method},
                                      {"tool", r.tool},
                                      {"arguments", r.arguments},
                                      {"identity", r.identity},
                                      {"session_id", r.session_id},
                                      {"question", r.question},
                                      {"stream", r.stream},
                                      {"status", r.status}});
  }
  return out;
}

}  // namespace agentgateway::emulator
