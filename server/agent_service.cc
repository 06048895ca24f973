#include "server/agent_service.h"

#include "absl/strings/str_cat.h"
#include "server/invoke_reactor.h"
#include "server/stream_reactor.h"

namespace agentgateway {
namespace {

std::string Metadata(const grpc::CallbackServerContext* context, std::string_view key) {
  const auto& md = context->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

AgentServiceImpl::AgentServiceImpl(std::shared_ptr<const Config> config, Engine* engine,
                                   std::string app_token)
    : config_(std::move(config)), engine_(engine), app_token_(std::move(app_token)) {}

absl::StatusOr<RunContext> AgentServiceImpl::Prepare(grpc::CallbackServerContext* context,
                                                     const v1::InvokeRequest& request,
                                                     const Profile** profile) const {
  *profile = config_->FindProfile(request.profile());
  if (*profile == nullptr) {
    std::string names;
    for (const auto& [name, unused] : config_->profiles) {
      absl::StrAppend(&names, names.empty() ? "" : ", ", name);
    }
    return absl::NotFoundError(
        absl::StrCat("unknown agent profile '", request.profile(), "'; known: ", names));
  }
  RunContext run;
  if ((*profile)->auth == "user") {
    // Never fall back to the app identity (design.md, "Never the wrong identity").
    run.bearer_token = Metadata(context, "x-forwarded-access-token");
    if (run.bearer_token.empty()) {
      return absl::UnauthenticatedError(absl::StrCat(
          "profile '", (*profile)->name,
          "' runs tools as the requesting user, but the request has no "
          "X-Forwarded-Access-Token header (gRPC metadata x-forwarded-access-token)"));
    }
  } else {
    run.bearer_token = app_token_;
  }
  for (const char* key : {"traceparent", "tracestate"}) {
    std::string value = Metadata(context, key);
    if (!value.empty()) run.forward_headers.emplace_back(key, std::move(value));
  }
  return run;
}

template <typename Reactor>
Reactor* AgentServiceImpl::Begin(Reactor* reactor, grpc::CallbackServerContext* context,
                                 const v1::InvokeRequest& request) {
  const Profile* profile = nullptr;
  absl::StatusOr<RunContext> run = Prepare(context, request, &profile);
  if (!run.ok()) {
    reactor->Fail(run.status());
  } else {
    reactor->Start(*engine_, *profile, request, *std::move(run));
  }
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::Invoke(grpc::CallbackServerContext* context,
                                                   const v1::InvokeRequest* request,
                                                   v1::InvokeResponse* response) {
  // Reactors delete themselves in OnDone.
  return Begin(new InvokeReactor(response), context, *request);
}

grpc::ServerWriteReactor<v1::StreamEvent>* AgentServiceImpl::Stream(
    grpc::CallbackServerContext* context, const v1::InvokeRequest* request) {
  return Begin(new StreamReactor(), context, *request);
}

grpc::ServerUnaryReactor* AgentServiceImpl::GetAgentInfo(grpc::CallbackServerContext* context,
                                                         const v1::GetAgentInfoRequest*,
                                                         v1::AgentInfo* info) {
  info->set_name("agent-gateway");
  info->set_agent_api("responses");
  info->set_default_profile(config_->default_profile);
  info->set_version(AGENTGATEWAY_VERSION);
  for (const auto& [name, profile] : config_->profiles) {
    v1::ProfileInfo* p = info->add_profiles();
    p->set_name(name);
    p->set_model(profile.model);
    p->set_engine(profile.engine);
    p->set_auth(profile.auth);
    for (const ToolSpec& tool : profile.tools) p->add_tool_types(tool.type);
    for (const std::string& m : profile.allowed_models) p->add_allowed_models(m);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace agentgateway
