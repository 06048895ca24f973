// The gRPC listener's TLS and mutual TLS, with a throwaway PKI, over loopback.
#include "server/grpc_credentials.h"

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agentgateway/v1/agent_service.grpc.pb.h"
#include "server/agent_service.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_certs.h"

namespace agentgateway {
namespace {

using ::agentgateway::testing::StatusIs;
using ::testing::HasSubstr;

class NoEngine final : public Engine {
 public:
  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile&, const v1::InvokeRequest&,
                                                    RunContext, std::shared_ptr<EventSink>) override {
    return absl::UnimplementedError("unused");
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile&, const v1::InvokeRequest&,
                                                    RunContext, InvokeDone) override {
    return absl::UnimplementedError("unused");
  }
};

class GrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.WriteFiles(dir_.path()).ok());
    auto config = std::make_shared<Config>();
    config->default_profile = "p";
    config->profiles["p"] = Profile{.name = "p", .model = "m"};
    service_ = std::make_unique<AgentServiceImpl>(config, &engine_, tokens_.get());
  }

  // Starts a server with `tls`; returns its port.
  int Start(const ListenerTls& tls) {
    auto creds = GrpcServerCredentials(tls);
    EXPECT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    return port;
  }

  grpc::Status Call(int port, std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto stub = v1::AgentService::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), creds, args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::AgentInfo info;
    return stub->GetAgentInfo(&ctx, v1::GetAgentInfoRequest(), &info);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  testing::TestPki pki_ = testing::MakeTestPki({"localhost"}, {"127.0.0.1"});
  testing::TempDir dir_;
  NoEngine engine_;
  std::unique_ptr<identity::TokenSource> tokens_ =
      identity::MakeStaticTokenSource(identity::Secret("t"));
  std::unique_ptr<AgentServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcTlsTest, TlsListenerServesClientsThatTrustItsCa) {
  int port = Start({dir_.File("cert.pem"), dir_.File("key.pem"), ""});
  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = pki_.ca_cert_pem;
  EXPECT_TRUE(Call(port, grpc::SslCredentials(trust)).ok());
  EXPECT_EQ(Call(port, grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, MutualTlsRefusesClientsWithoutACertificate) {
  int port = Start({dir_.File("cert.pem"), dir_.File("key.pem"), dir_.File("ca.pem")});
  grpc::SslCredentialsOptions no_cert;
  no_cert.pem_root_certs = pki_.ca_cert_pem;
  EXPECT_EQ(Call(port, grpc::SslCredentials(no_cert)).error_code(), grpc::StatusCode::UNAVAILABLE);

  grpc::SslCredentialsOptions with_cert = no_cert;
  with_cert.pem_cert_chain = pki_.cert_pem;  // signed by the configured client CA
  with_cert.pem_private_key = pki_.key_pem;
  EXPECT_TRUE(Call(port, grpc::SslCredentials(with_cert)).ok());

  testing::TestPki stranger = testing::MakeTestPki({"localhost"}, {"127.0.0.1"});
  grpc::SslCredentialsOptions wrong_ca = no_cert;
  wrong_ca.pem_cert_chain = stranger.cert_pem;  // signed by another CA
  wrong_ca.pem_private_key = stranger.key_pem;
  EXPECT_EQ(Call(port, grpc::SslCredentials(wrong_ca)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, BadFilesAreNamed) {
  EXPECT_THAT(GrpcServerCredentials({"/nonexistent/cert.pem", dir_.File("key.pem"), ""}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/cert.pem")));
  EXPECT_THAT(GrpcServerCredentials({dir_.File("key.pem"), dir_.File("key.pem"), ""}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds no PEM certificate")));
  EXPECT_TRUE(GrpcServerCredentials({}).ok());  // insecure when TLS is not configured
}

}  // namespace
}  // namespace agentgateway
