#include "tests/bench/http_sse_parse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentgateway::bench {
namespace {

using Result = HttpResponseParser::Result;

struct Parsed {
  Result result = Result::kNeedMore;
  std::string body;
  std::size_t consumed_total = 0;
};

// Feeds `pieces` in order until the parser finishes or fails.
Parsed Parse(HttpResponseParser& parser, const std::vector<std::string>& pieces) {
  Parsed out;
  for (const std::string& piece : pieces) {
    std::size_t consumed = 0;
    out.result = parser.Feed(piece, &consumed,
                             [&](std::string_view body) { out.body.append(body); });
    out.consumed_total += consumed;
    if (out.result != Result::kNeedMore) break;
  }
  return out;
}

const std::string kChunked =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n"
    "1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "0\r\nX-Trailer: t\r\n\r\n";

TEST(HttpResponseParser, ChunkedBodyInOnePiece) {
  HttpResponseParser parser;
  Parsed p = Parse(parser, {kChunked});
  EXPECT_EQ(p.result, Result::kDone);
  EXPECT_EQ(p.body, "helloabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(p.consumed_total, kChunked.size());
  EXPECT_EQ(parser.status(), 200);
  EXPECT_TRUE(parser.keep_alive());
  EXPECT_EQ(parser.content_type(), "text/event-stream");
}

TEST(HttpResponseParser, ChunkedBodySplitAtEveryByte) {
  for (std::size_t cut = 1; cut < kChunked.size(); ++cut) {
    HttpResponseParser parser;
    Parsed p = Parse(parser, {kChunked.substr(0, cut), kChunked.substr(cut)});
    EXPECT_EQ(p.result, Result::kDone) << "cut at " << cut << ": " << parser.error();
    EXPECT_EQ(p.body, "helloabcdefghijklmnopqrstuvwxyz") << "cut at " << cut;
  }
  HttpResponseParser parser;
  std::vector<std::string> bytes;
  for (char c : kChunked) bytes.emplace_back(1, c);
  EXPECT_EQ(Parse(parser, bytes).body, "helloabcdefghijklmnopqrstuvwxyz");
}

TEST(HttpResponseParser, StopsAtTheEndOfTheResponse) {
  HttpResponseParser parser;
  Parsed p = Parse(parser, {kChunked + "HTTP/1.1 200 OK\r\n"});
  EXPECT_EQ(p.result, Result::kDone);
  EXPECT_EQ(p.consumed_total, kChunked.size());
}

TEST(HttpResponseParser, ContentLengthBody) {
  HttpResponseParser parser;
  Parsed p = Parse(parser, {"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab", "cd"});
  EXPECT_EQ(p.result, Result::kDone);
  EXPECT_EQ(p.body, "abcd");
}

TEST(HttpResponseParser, CloseDelimitedBodyEndsAtEof) {
  HttpResponseParser parser;
  Parsed p = Parse(parser, {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: x\n\n"});
  EXPECT_EQ(p.result, Result::kNeedMore);
  EXPECT_EQ(p.body, "data: x\n\n");
  EXPECT_EQ(parser.OnEof(), Result::kDone);
  EXPECT_FALSE(parser.keep_alive());
}

TEST(HttpResponseParser, EofInsideAChunkIsAnError) {
  HttpResponseParser parser;
  Parse(parser, {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"});
  EXPECT_EQ(parser.OnEof(), Result::kError);
  EXPECT_EQ(parser.error(), "connection closed inside the response body");
}

TEST(HttpResponseParser, EofBeforeTheHeadIsAnError) {
  HttpResponseParser parser;
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.OnEof(), Result::kError);
  EXPECT_EQ(parser.error(), "connection closed before the response head");
}

TEST(HttpResponseParser, ConnectionCloseAndHttp10) {
  HttpResponseParser a;
  Parse(a, {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"});
  EXPECT_FALSE(a.keep_alive());
  HttpResponseParser b;
  EXPECT_EQ(Parse(b, {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"}).result, Result::kDone);
  EXPECT_FALSE(b.keep_alive());
}

TEST(HttpResponseParser, ErrorStatusIsParsed) {
  HttpResponseParser parser;
  Parsed p = Parse(parser, {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}"});
  EXPECT_EQ(p.result, Result::kDone);
  EXPECT_EQ(parser.status(), 503);
}

TEST(HttpResponseParser, MalformedInputFails) {
  for (std::string bad : {"HTTQ/1.1 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX"}) {
    HttpResponseParser parser;
    EXPECT_EQ(Parse(parser, {bad}).result, Result::kError) << bad;
    EXPECT_FALSE(parser.error().empty());
  }
}

TEST(HttpResponseParser, ResetForTheNextResponse) {
  HttpResponseParser parser;
  EXPECT_EQ(Parse(parser, {kChunked}).result, Result::kDone);
  parser.Reset();
  Parsed p = Parse(parser, {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"});
  EXPECT_EQ(p.result, Result::kDone);
  EXPECT_EQ(p.body, "z");
}

int Events(const std::vector<std::string>& pieces) {
  SseSplitter splitter;
  int events = 0;
  for (const std::string& piece : pieces) events += splitter.Feed(piece);
  return events;
}

const std::string kSse =
    "event: response.created\ndata: {\"a\":1}\n\n"
    ": heartbeat comment\n\n"
    "event: only-a-name\n\n"
    "event: response.output_text.delta\r\ndata: {\"delta\":\"x\"}\r\n\r\n"
    "data: line one\ndata: line two\n\n"
    "data\n\n"
    "datum: not data\n\n"
    "data: [DONE]\n\n";

TEST(SseSplitter, CountsEventsWithData) { EXPECT_EQ(Events({kSse}), 5); }

TEST(SseSplitter, SplitAtEveryByte) {
  for (std::size_t cut = 0; cut <= kSse.size(); ++cut) {
    EXPECT_EQ(Events({kSse.substr(0, cut), kSse.substr(cut)}), 5) << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : kSse) bytes.emplace_back(1, c);
  EXPECT_EQ(Events(bytes), 5);
}

TEST(SseSplitter, AnEventIsCountedOnlyWhenItsBlankLineArrives) {
  SseSplitter splitter;
  EXPECT_EQ(splitter.Feed("data: {\"long\":\"" + std::string(10000, 'x') + "\"}\n"), 0);
  EXPECT_TRUE(splitter.InEvent());
  EXPECT_EQ(splitter.Feed("\r"), 0);
  EXPECT_EQ(splitter.Feed("\n"), 1);
  EXPECT_FALSE(splitter.InEvent());
}

}  // namespace
}  // namespace agentgateway::bench
