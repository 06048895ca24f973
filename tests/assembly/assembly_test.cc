// Assembly of the final answer, end to end against the emulator (issue 5 item 6):
//  * several upstream created/completed pairs (one per tool round): gRPC Stream relays every
//    round; REST /responses presents one response (one created, indices continued, one
//    completed with every item and the first id, gap-free sequence numbers);
//  * a final response.completed with an empty output after streamed deltas (the emulator's
//    X-Emulator-Empty-Completed: 1, added by an engine wrapper since the gateway forwards no
//    such header): every streaming door ends with the streamed items, ids as streamed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/direct_backend.h"
#include "tests/integration/stack.h"

namespace agentgateway::testing {
namespace {

namespace json = boost::json;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Three hosted tools: three tool rounds, then the answer round.
constexpr char kThreeToolQuestion[] =
    "How did sales do last quarter? Check it with python_exec and the handbook.";

std::string Body(const std::string& text) {
  return R"({"input":[{"role":"user","content":)" + json::serialize(json::string(text)) +
         R"(}],"stream":true})";
}

// The stream's events as (type, data) in order, from gRPC or from SSE frames ([DONE] left out).
struct Ev {
  std::string type;
  json::object data;
};

std::vector<Ev> FromSse(const std::string& body) {
  std::vector<Ev> events;
  for (const Frame& f : ParseSse(body)) {
    if (f.data == "[DONE]") continue;
    json::object data = json::parse(f.data).as_object();
    std::string type = f.event;
    if (type.empty() && data.contains("type")) type = std::string(data.at("type").as_string());
    events.push_back({type, std::move(data)});
  }
  return events;
}

std::vector<Ev> GrpcStream(v1::AgentService::Stub& stub, const std::string& question,
                           grpc::Status* status) {
  grpc::ClientContext ctx;
  auto reader = stub.Stream(&ctx, TextRequest(question));
  std::vector<Ev> events;
  v1::StreamEvent event;
  while (reader->Read(&event)) {
    events.push_back({event.type(), json::parse(event.json()).as_object()});
  }
  *status = reader->Finish();
  return events;
}

std::vector<const Ev*> OfType(const std::vector<Ev>& events, const std::string& type) {
  std::vector<const Ev*> out;
  for (const Ev& e : events) {
    if (e.type == type) out.push_back(&e);
  }
  return out;
}

std::vector<std::string> ItemIds(const json::array& items) {
  std::vector<std::string> ids;
  for (const json::value& item : items) ids.emplace_back(item.at("id").as_string());
  return ids;
}

// The ids of every output_item.done item, in stream order.
std::vector<std::string> DoneItemIds(const std::vector<Ev>& events) {
  std::vector<std::string> ids;
  for (const Ev* e : OfType(events, "response.output_item.done")) {
    ids.emplace_back(e->data.at("item").at("id").as_string());
  }
  return ids;
}

// Per item id, the concatenated output_text deltas.
std::map<std::string, std::string> DeltaText(const std::vector<Ev>& events) {
  std::map<std::string, std::string> text;
  for (const Ev* e : OfType(events, "response.output_text.delta")) {
    text[std::string(e->data.at("item_id").as_string())] += e->data.at("delta").as_string();
  }
  return text;
}

std::string MessageText(const json::value& item) {
  std::string text;
  for (const json::value& part : item.at("content").as_array()) text += part.at("text").as_string();
  return text;
}

// What a REST client of /responses must see: one response, numbered without gaps, indices
// continued across rounds, and one completed event carrying every item streamed.
void ExpectOneOpenAiResponse(const std::string& body, std::size_t expected_items) {
  std::vector<Frame> frames = ParseSse(body);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().data, "[DONE]");
  std::vector<Ev> events = FromSse(body);
  ASSERT_EQ(OfType(events, "response.created").size(), 1u);
  EXPECT_EQ(OfType(events, "response.in_progress").size(), 1u);
  ASSERT_EQ(OfType(events, "response.completed").size(), 1u);
  EXPECT_EQ(events.front().type, "response.created");
  EXPECT_EQ(events.back().type, "response.completed");
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].data.at("sequence_number").to_number<long long>(),
              static_cast<long long>(i))
        << events[i].type;
  }
  std::vector<long long> added_indices;
  for (const Ev* e : OfType(events, "response.output_item.added")) {
    added_indices.push_back(e->data.at("output_index").to_number<long long>());
  }
  std::vector<long long> expected_indices;
  for (std::size_t i = 0; i < expected_items; ++i) expected_indices.push_back(static_cast<long long>(i));
  EXPECT_THAT(added_indices, ElementsAreArray(expected_indices));

  const json::object& created = OfType(events, "response.created")[0]->data.at("response").as_object();
  const json::object& done = events.back().data.at("response").as_object();
  EXPECT_EQ(done.at("id"), created.at("id"));
  EXPECT_EQ(done.at("status").as_string(), "completed");
  const json::array& output = done.at("output").as_array();
  ASSERT_EQ(output.size(), expected_items);
  EXPECT_THAT(ItemIds(output), ElementsAreArray(DoneItemIds(events)));
  // The answer message: the id its deltas carried, their text.
  std::map<std::string, std::string> deltas = DeltaText(events);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(output.back().at("id").as_string(), deltas.begin()->first);
  EXPECT_EQ(MessageText(output.back()), deltas.begin()->second);
}

class MultiRoundTest : public SharedStackTest<::testing::Test> {};

TEST_F(MultiRoundTest, GrpcStreamRelaysEveryRoundWithItsOwnItems) {
  grpc::Status status;
  std::vector<Ev> events = GrpcStream(stack_->grpc(), kThreeToolQuestion, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<const Ev*> created = OfType(events, "response.created");
  std::vector<const Ev*> completed = OfType(events, "response.completed");
  ASSERT_EQ(created.size(), 4u);  // three tool rounds and the answer
  ASSERT_EQ(completed.size(), 4u);
  std::vector<std::string> all_ids;
  for (const Ev* e : completed) {
    std::vector<std::string> ids = ItemIds(e->data.at("response").at("output").as_array());
    EXPECT_FALSE(ids.empty());
    all_ids.insert(all_ids.end(), ids.begin(), ids.end());
  }
  EXPECT_THAT(all_ids, ElementsAreArray(DoneItemIds(events)));
}

TEST_F(MultiRoundTest, RestResponsesPresentsTheRoundsAsOneResponse) {
  auto result = stack_->Post("/responses", Body(kThreeToolQuestion));
  ASSERT_EQ(result.head.status, 200) << result.body;
  // Three function_call + function_call_output pairs, then the message.
  ExpectOneOpenAiResponse(result.body, 7);
}

TEST_F(MultiRoundTest, RestInvocationsKeepsEveryRound) {
  auto result = stack_->Post("/invocations", Body(kThreeToolQuestion));
  ASSERT_EQ(result.head.status, 200) << result.body;
  std::vector<Ev> events = FromSse(result.body);
  EXPECT_EQ(OfType(events, "response.created").size(), 4u);
  EXPECT_EQ(OfType(events, "response.completed").size(), 4u);
}

// Sends every upstream request with the emulator's empty-completed knob.
class EmptyCompletedEngine final : public Engine {
 public:
  explicit EmptyCompletedEngine(Engine* inner) : inner_(inner) {}
  absl::StatusOr<std::shared_ptr<RunHandle>> Stream(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context,
                                                    std::shared_ptr<EventSink> sink) override {
    context.forward_headers.emplace_back("X-Emulator-Empty-Completed", "1");
    return inner_->Stream(profile, request, std::move(context), std::move(sink));
  }
  absl::StatusOr<std::shared_ptr<RunHandle>> Invoke(const Profile& profile,
                                                    const v1::InvokeRequest& request,
                                                    RunContext context, InvokeDone done) override {
    context.forward_headers.emplace_back("X-Emulator-Empty-Completed", "1");
    return inner_->Invoke(profile, request, std::move(context), std::move(done));
  }

 private:
  Engine* inner_;
};

// gateway (REST + gRPC) -> EmptyCompletedEngine -> SupervisorEngine -> emulator (plain HTTP).
class EmptyCompletedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto emulator = emulator::Emulator::Create({});
    ASSERT_TRUE(emulator.ok()) << emulator.status();
    emulator_ = emulator->release();
    auto pool = upstream::HttpPool::Create({});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    auto engine = SupervisorEngine::Create(pool_, emulator_->BaseUrl() + "/ai-gateway/mlflow/v1");
    ASSERT_TRUE(engine.ok()) << engine.status();
    supervisor_ = engine->release();
    engine_ = new EmptyCompletedEngine(supervisor_);
    tokens_ = identity::MakeStaticTokenSource(identity::Secret("app-token")).release();
    service_ = new AgentServiceImpl(std::make_shared<const Config>(EmbeddedDefaultConfig()),
                                    engine_, tokens_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(port, 0);
    stub_ = v1::AgentService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                          grpc::InsecureChannelCredentials()))
                .release();
    gateway::HttpServerOptions options;
    options.port = 0;
    auto http = gateway::HttpServer::Create(options, MakeDirectBackend(service_));
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = http->release();
  }
  static void TearDownTestSuite() {
    if (http_ != nullptr) http_->Stop();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    delete stub_;
    delete http_;
    delete server_;
    delete service_;
    delete tokens_;
    delete engine_;
    delete supervisor_;
    delete pool_;
    if (emulator_ != nullptr) emulator_->Stop();
    delete emulator_;
  }

  static upstream::HttpPool::FetchResult Post(const std::string& url, const std::string& body,
                                              upstream::Headers headers = {}) {
    upstream::HttpRequest r;
    r.method = "POST";
    r.url = *upstream::Url::Parse(url);
    r.headers = std::move(headers);
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = body;
    auto result = pool_->Fetch(std::move(r));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : upstream::HttpPool::FetchResult{};
  }
  static std::string GatewayUrl(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(http_->port()) + path;
  }

  static inline emulator::Emulator* emulator_ = nullptr;
  static inline upstream::HttpPool* pool_ = nullptr;
  static inline SupervisorEngine* supervisor_ = nullptr;
  static inline EmptyCompletedEngine* engine_ = nullptr;
  static inline identity::TokenSource* tokens_ = nullptr;
  static inline AgentServiceImpl* service_ = nullptr;
  static inline grpc::Server* server_ = nullptr;
  static inline v1::AgentService::Stub* stub_ = nullptr;
  static inline gateway::HttpServer* http_ = nullptr;
};

TEST_F(EmptyCompletedTest, TheEmulatorReallySendsAnEmptyFinalOutput) {
  // Asked directly, with the knob: the quirk the gateway has to repair.
  auto direct = Post(emulator_->BaseUrl() + "/ai-gateway/mlflow/v1/responses",
                     R"({"model":"m","stream":true,"input":[{"role":"user","content":"Hello"}]})",
                     {{"Authorization", "Bearer t"}, {"X-Emulator-Empty-Completed", "1"}});
  ASSERT_EQ(direct.head.status, 200) << direct.body;
  std::vector<Ev> events = FromSse(direct.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, "response.completed");
  EXPECT_TRUE(events.back().data.at("response").at("output").as_array().empty());
  EXPECT_FALSE(DeltaText(events).empty());
}

TEST_F(EmptyCompletedTest, GrpcStreamEndsWithTheStreamedItemsUnderTheirIds) {
  grpc::Status status;
  std::vector<Ev> events = GrpcStream(*stub_, kThreeToolQuestion, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<const Ev*> completed = OfType(events, "response.completed");
  ASSERT_EQ(completed.size(), 4u);
  const json::array& output = completed.back()->data.at("response").at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  std::map<std::string, std::string> deltas = DeltaText(events);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(output[0].at("id").as_string(), deltas.begin()->first);
  EXPECT_EQ(output[0].at("type").as_string(), "message");
  EXPECT_EQ(MessageText(output[0]), deltas.begin()->second);
  EXPECT_THAT(MessageText(output[0]), HasSubstr(kThreeToolQuestion));
  // The item equals the one output_item.done carried.
  EXPECT_EQ(output[0], OfType(events, "response.output_item.done").back()->data.at("item"));
}

TEST_F(EmptyCompletedTest, RestResponsesEndsWithEveryItemOfEveryRound) {
  auto result = Post(GatewayUrl("/responses"), Body(kThreeToolQuestion));
  ASSERT_EQ(result.head.status, 200) << result.body;
  ExpectOneOpenAiResponse(result.body, 7);
}

TEST_F(EmptyCompletedTest, RestInvocationsFinalCompletedCarriesTheAnswer) {
  auto result = Post(GatewayUrl("/invocations"), Body("Hello"));
  ASSERT_EQ(result.head.status, 200) << result.body;
  std::vector<Ev> events = FromSse(result.body);
  std::vector<const Ev*> completed = OfType(events, "response.completed");
  ASSERT_EQ(completed.size(), 1u);
  const json::array& output = completed[0]->data.at("response").at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(output[0].at("id").as_string(), DeltaText(events).begin()->first);
  EXPECT_THAT(MessageText(output[0]), HasSubstr("Hello"));
}

}  // namespace
}  // namespace agentgateway::testing
