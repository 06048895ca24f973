#include "tests/emulator/request_log.h"

#include "boost/json/object.hpp"

namespace agentgateway::emulator {

boost::json::array RequestLog::Recent(std::size_t limit) const {
  boost::json::array out;
  for (const RequestRecord& r : ring_.Recent(limit)) {
    out.push_back(boost::json::object{{"method", r.method},
                                      {"identity", r.identity},
                                      {"question", r.question},
                                      {"token_fingerprint", r.token_fingerprint},
                                      {"status", r.status}});
  }
  return out;
}

}  // namespace agentgateway::emulator
