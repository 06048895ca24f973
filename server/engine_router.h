// EngineRouter: one Engine that hands each request to the engine its profile names
// (`engine: supervisor | local`), so the service, the approval policy and both doors stay the
// same whichever engine runs the request. Background runs exist only on the Supervisor API.
#ifndef AGENTGATEWAY_SERVER_ENGINE_ROUTER_H_
#define AGENTGATEWAY_SERVER_ENGINE_ROUTER_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/engine.h"

namespace agentgateway {

class EngineRouter final : public Engine {
 public:
  // Not owned; `local` may be null when no profile uses it.
  EngineRouter(Engine* supervisor, Engine* local) : supervisor_(supervisor), local_(local) {}

  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override {
    absl::StatusOr<Engine*> engine = For(profile);
    if (!engine.ok()) return engine.status();
    return (*engine)->Stream(profile, request, std::move(context), std::move(sink));
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override {
    absl::StatusOr<Engine*> engine = For(profile);
    if (!engine.ok()) return engine.status();
    return (*engine)->Invoke(profile, request, std::move(context), std::move(done));
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Poll(const Profile& profile, std::string id,
                                                  RunContext context, InvokeDone done) override {
    absl::StatusOr<Engine*> engine = For(profile);
    if (!engine.ok()) return engine.status();
    return (*engine)->Poll(profile, std::move(id), std::move(context), std::move(done));
  }

 private:
  absl::StatusOr<Engine*> For(const Profile& profile) const {
    if (profile.engine == "local") {
      if (local_ == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("profile '", profile.name, "' asks for the local engine, which is not running"));
      }
      return local_;
    }
    return supervisor_;
  }

  Engine* supervisor_;
  Engine* local_;
};

}  // namespace agentgateway

#endif  // AGENTGATEWAY_SERVER_ENGINE_ROUTER_H_
