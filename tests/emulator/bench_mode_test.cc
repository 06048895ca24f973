// Bench mode (--bench-answer N[:B]) over a real loopback socket: the event sequence, delta
// sizes and stamps, the non-stream shape, drip spacing, and refusals.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/emulator/bench_answer.h"
#include "tests/emulator/emulator.h"
#include "tests/emulator/test_client.h"

namespace agentgateway::emulator {
namespace {

using test_client::ClientResponse;
using test_client::ParseSse;
using test_client::SseEvent;
using test_client::TestClient;
namespace json = boost::json;
namespace http = boost::beast::http;

constexpr std::string_view kPath = "/ai-gateway/mlflow/v1/responses";
constexpr int kDeltas = 7;
constexpr int kBytes = 40;

std::string Body(std::string_view question, bool stream) {
  return json::serialize(json::object{
      {"model", "bench-model"},
      {"input", json::array{json::object{{"role", "user"}, {"content", question}}}},
      {"stream", stream}});
}

// Every "@<digits>;" stamp in `text`, in order.
std::vector<int64_t> Stamps(std::string_view text) {
  std::vector<int64_t> stamps;
  for (std::size_t at = text.find('@'); at != std::string_view::npos;
       at = text.find('@', at + 1)) {
    std::size_t end = at + 1;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == at + 1 || end >= text.size() || text[end] != ';') continue;
    stamps.push_back(std::stoll(std::string(text.substr(at + 1, end - at - 1))));
  }
  return stamps;
}

class BenchModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions options;
    options.bench = BenchSpec{kDeltas, kBytes};
    auto created = Emulator::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    emulator_ = *std::move(created);
  }

  ClientResponse Post(std::string body) {
    TestClient client(emulator_->port());
    return client.Exchange(http::verb::post, kPath, std::move(body));
  }

  json::value Stats() {
    TestClient client(emulator_->port());
    return client.Exchange(http::verb::get, "/emulator/stats").Json();
  }

  std::unique_ptr<Emulator> emulator_;
};

TEST(BenchSpecTest, ParsesCountAndBytes) {
  auto spec = ParseBenchSpec("200:100");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->deltas, 200);
  EXPECT_EQ(spec->delta_bytes, 100);
  spec = ParseBenchSpec("3");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->deltas, 3);
  EXPECT_EQ(spec->delta_bytes, 100);
  for (std::string_view bad : {"", "0", "x", "5:", "5:10", "5:x", "-1:100", "5:100:1"}) {
    EXPECT_EQ(ParseBenchSpec(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(BenchSpecTest, StampedTextHasExactSizeAndNeedsNoEscaping) {
  std::string text;
  AppendStampedText(text, 1234567890123, 24);
  EXPECT_EQ(text.size(), 24u);
  EXPECT_EQ(text.substr(0, 15), "@1234567890123;");
  EXPECT_EQ(text.find_first_not_of("@;0123456789abcdefghijklmnopqrstuvwxyz"), std::string::npos);
}

TEST_F(BenchModeTest, StreamHasTheFixedSequenceStampedDeltasAndTheWholeText) {
  int64_t before = SteadyNowNs();
  ClientResponse response = Post(Body("any question, any tools", true));
  int64_t after = SteadyNowNs();
  ASSERT_FALSE(response.ec) << response.ec.message();
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.headers[http::field::content_type], "text/event-stream");
  std::vector<SseEvent> events = ParseSse(response.body);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kDeltas + 8));

  std::vector<std::string> expected = {"response.created", "response.in_progress",
                                       "response.output_item.added",
                                       "response.content_part.added"};
  expected.insert(expected.end(), kDeltas, "response.output_text.delta");
  for (std::string_view type : {"response.output_text.done", "response.content_part.done",
                                "response.output_item.done", "response.completed"}) {
    expected.emplace_back(type);
  }
  std::string text;
  int64_t last_stamp = before;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const SseEvent& e = events[i];
    ASSERT_TRUE(e.json.is_object()) << e.data;
    EXPECT_EQ(e.event, expected[i]);
    EXPECT_EQ(e.Type(), expected[i]);
    EXPECT_EQ(e.json.at("sequence_number").as_int64(), static_cast<int64_t>(i));
    if (e.Type() != "response.output_text.delta") continue;
    std::string delta(e.json.at("delta").as_string());
    EXPECT_EQ(delta.size(), static_cast<std::size_t>(kBytes));
    std::vector<int64_t> stamps = Stamps(delta);
    ASSERT_EQ(stamps.size(), 1u) << delta;
    EXPECT_EQ(delta.rfind('@', 0), 0u) << "the stamp starts the delta: " << delta;
    EXPECT_GT(stamps[0], last_stamp);
    EXPECT_LT(stamps[0], after);
    last_stamp = stamps[0];
    text += delta;
  }
  EXPECT_EQ(events[kDeltas + 4].json.at("text").as_string(), text);
  EXPECT_EQ(events[kDeltas + 5].json.at("part").at("text").as_string(), text);
  const json::value& item = events[kDeltas + 6].json.at("item");
  EXPECT_EQ(item.at("status").as_string(), "completed");
  EXPECT_EQ(item.at("content").at(0).at("text").as_string(), text);
  const json::value& completed = events[kDeltas + 7].json.at("response");
  EXPECT_EQ(completed.at("status").as_string(), "completed");
  EXPECT_EQ(completed.at("model").as_string(), "bench-model");
  EXPECT_EQ(completed.at("output").at(0).at("role").as_string(), "assistant");
  EXPECT_EQ(completed.at("output").at(0).at("content").at(0).at("text").as_string(), text);
  EXPECT_EQ(events[0].json.at("response").at("id"), completed.at("id"));

  json::value stats = Stats();
  EXPECT_EQ(stats.at("responses_requests").as_int64(), 1);
  EXPECT_EQ(stats.at("streams_started").as_int64(), 1);
  EXPECT_EQ(stats.at("streams_completed").as_int64(), 1);
}

TEST_F(BenchModeTest, KeepAliveServesStreamsBackToBack) {
  TestClient client(emulator_->port());
  for (int i = 0; i < 3; ++i) {
    ClientResponse response = client.Exchange(http::verb::post, kPath, Body("again", true));
    ASSERT_FALSE(response.ec) << response.ec.message();
    EXPECT_EQ(ParseSse(response.body).size(), static_cast<std::size_t>(kDeltas + 8));
  }
  EXPECT_EQ(Stats().at("streams_completed").as_int64(), 3);
}

TEST_F(BenchModeTest, NonStreamIsOneMessageOfBBytes) {
  int64_t before = SteadyNowNs();
  ClientResponse response = Post(Body("hi", false));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.headers[http::field::content_type], "application/json");
  json::value body = response.Json();
  EXPECT_EQ(body.at("object").as_string(), "response");
  EXPECT_EQ(body.at("status").as_string(), "completed");
  EXPECT_EQ(body.at("model").as_string(), "bench-model");
  const json::array& output = body.at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(output[0].at("type").as_string(), "message");
  EXPECT_EQ(output[0].at("role").as_string(), "assistant");
  std::string text(output[0].at("content").at(0).at("text").as_string());
  EXPECT_EQ(text.size(), static_cast<std::size_t>(kBytes));
  std::vector<int64_t> stamps = Stamps(text);
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_GT(stamps[0], before);
  EXPECT_EQ(Stats().at("streams_started").as_int64(), 0);
}

TEST_F(BenchModeTest, DripSpacesEventsAndHoldsTheStreamOpen) {
  constexpr int64_t kDripMs = 20;
  std::string body = Body("hold me [[drip-ms:" + std::to_string(kDripMs) + "]]", true);
  {
    // Held open: the first delta (sequence number 4) has arrived, the stream has not ended.
    TestClient client(emulator_->port());
    client.Send(http::verb::post, kPath, body);
    ClientResponse first = client.ReadUntil("\"sequence_number\":4,");
    ASSERT_FALSE(first.ec) << first.ec.message();
    json::value stats = Stats();
    EXPECT_EQ(stats.at("streams_started").as_int64(), 1);
    EXPECT_EQ(stats.at("streams_completed").as_int64(), 0);
  }
  TestClient client(emulator_->port());
  ClientResponse whole = client.Exchange(http::verb::post, kPath, body);
  ASSERT_FALSE(whole.ec) << whole.ec.message();
  ASSERT_EQ(ParseSse(whole.body).size(), static_cast<std::size_t>(kDeltas + 8));
  std::vector<int64_t> stamps = Stamps(whole.body);
  // The closing events repeat the text: the first kDeltas stamps are the deltas'.
  ASSERT_GE(stamps.size(), static_cast<std::size_t>(kDeltas));
  for (int i = 1; i < kDeltas; ++i) {
    EXPECT_GE(stamps[i] - stamps[i - 1], kDripMs * 1'000'000) << "between deltas " << i - 1
                                                              << " and " << i;
  }
  EXPECT_EQ(Stats().at("streams_completed").as_int64(), 1);
}

TEST_F(BenchModeTest, ClientLeavingADripStreamIsCounted) {
  {
    TestClient client(emulator_->port());
    client.Send(http::verb::post, kPath, Body("[[drip-ms:10000]]", true));
    ASSERT_FALSE(client.ReadUntil("response.created").ec);
    client.Close();
  }
  TestClient waiter(emulator_->port());
  ClientResponse reached =
      waiter.Exchange(http::verb::get, "/emulator/wait?counter=streams_client_closed&value=1");
  EXPECT_EQ(reached.status, 200) << reached.body;
}

TEST_F(BenchModeTest, MalformedBodiesAreStill400) {
  for (std::string body : {std::string("{not json"), std::string("[]"),
                           std::string(R"({"input":[]})"), std::string(R"({"model":"m"})"),
                           std::string(R"({"model":7,"input":[]})")}) {
    ClientResponse response = Post(body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(response.Json().at("error_code").as_string(), "INVALID_PARAMETER_VALUE") << body;
  }
  EXPECT_EQ(Stats().at("responses_requests").as_int64(), 5);
}

}  // namespace
}  // namespace agentgateway::emulator
