#include "gtest/gtest.h"
#include "server/upstream/http_pool.h"

namespace agentgateway::upstream {
namespace {

TEST(Url, ParsesAndDefaultsPort) {
  auto url = Url::Parse("https://Example.COM/ai-gateway/mlflow/v1/responses?x=1#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/ai-gateway/mlflow/v1/responses?x=1");
  EXPECT_EQ(url->Origin(), "https://example.com:443");
}

TEST(Url, ExplicitPortAndEmptyPath) {
  auto url = Url::Parse("http://127.0.0.1:8080");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
}

TEST(Url, Ipv6Literal) {
  auto url = Url::Parse("http://[::1]:9000/x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->Origin(), "http://[::1]:9000");
}

TEST(Url, RejectsBadInput) {
  for (const char* bad : {"example.com/x", "ftp://x/", "https://", "https://:80/", "http://h:0/",
                          "http://h:65536/", "http://h:12a/", "http://u@h/", "http://[::1/",
                          "http://h:/"}) {
    EXPECT_EQ(Url::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace agentgateway::upstream
