#include "gateway/status_mapping.h"

#include <gtest/gtest.h>

namespace agentgateway::gateway {
namespace {

TEST(StatusMappingTest, Table) {
  using C = grpc::StatusCode;
  EXPECT_EQ(HttpStatusFromGrpc(C::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFromGrpc(C::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusFromGrpc(C::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFromGrpc(C::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFromGrpc(C::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusFromGrpc(C::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFromGrpc(C::CANCELLED), 503);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusFromGrpc(C::INTERNAL), 500);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNKNOWN), 500);
  EXPECT_EQ(HttpStatusFromGrpc(C::DATA_LOSS), 500);
}

TEST(StatusMappingTest, InvocationsShape) {
  HttpResponse r = ErrorResponseFromStatus(
      ApiFlavor::kInvocations, grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no \"grant\""));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"detail":"no \"grant\""})");
}

TEST(StatusMappingTest, OpenAiShapeAndRetryAfter) {
  HttpResponse r = ErrorResponseFromStatus(
      ApiFlavor::kResponses, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down"), "7");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, R"({"error":{"message":"slow down","type":"rate_limit_error","param":null,)"
                    R"("code":"resource_exhausted"}})");
  bool found = false;
  for (const auto& [k, v] : r.headers) found |= (k == "retry-after" && v == "7");
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace agentgateway::gateway
