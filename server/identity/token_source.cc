// The static token source. The OAuth M2M source lives in oauth_m2m_token_source.cc.
#include "server/identity/token_source.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace agentgateway::identity {
namespace {

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(Secret token) : token_(std::move(token)) {}

  void GetToken(Callback done) override {
    if (token_.empty()) {
      done(absl::FailedPreconditionError("the static token (DATABRICKS_TOKEN) is empty"));
      return;
    }
    done(token_);
  }
  std::string Describe() const override {
    return absl::StrCat("static token ", token_.Fingerprint());
  }
  Stats GetStats() const override {
    Stats stats;
    stats.has_valid_token = !token_.empty();
    return stats;
  }

 private:
  const Secret token_;  // immutable: no lock needed
};

}  // namespace

std::unique_ptr<TokenSource> MakeStaticTokenSource(Secret token) {
  return std::make_unique<StaticTokenSource>(std::move(token));
}

std::string NotReadyReason(TokenSource& tokens) {
  TokenSource::Stats stats = tokens.GetStats();
  if (stats.has_valid_token) return "";
  tokens.GetToken([](absl::StatusOr<Secret>) {});
  if (stats.failures == 0) return "the app's upstream token is not fetched yet";
  return absl::StrCat("the app's upstream token cannot be obtained (", stats.failures,
                      " failed token requests; ", tokens.Describe(), ")");
}

}  // namespace agentgateway::identity
