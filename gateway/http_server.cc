// HttpServer: the io_context and its threads, the listener (accept loop on its own strand),
// and the orderly Stop: stop accepting, close sessions, cancel calls and wait for their last
// callbacks, then let the io threads drain and join them.
#include "gateway/http_server.h"

#include <netinet/tcp.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <grpcpp/channel.h>

#include "gateway/text.h"
#include "absl/synchronization/mutex.h"
#include "gateway/http_session.h"
#include "gateway/grpc_backend.h"
#include "gateway/server_tls.h"

namespace agentgateway::gateway {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr absl::Duration kCallDrainTimeout = absl::Seconds(10);

// Unsent bytes the kernel may hold for one connection (TCP_NOTSENT_LOWAT) before a write
// waits. An SSE stream's back-pressure (socket write pending -> no next gRPC read -> the
// StreamReactor's queue fills -> upstream reads pause) works only if a client that stops
// reading makes our writes wait. Without this limit Linux grows the send buffer on its own
// (tcp_wmem, up to 4 MiB), also while the peer's window is zero (each zero-window probe's ACK
// can grow it): the kernel took a whole ~1 MiB stream per paused client, so the gateway read
// its upstream to the end. With it the kernel holds at most the peer's window in flight plus
// about this much (and one segment) unsent; the throughput of a fast reader is unchanged, as
// only unsent bytes count.
constexpr int kMaxUnsentBytes = 16 * 1024;
using NotSentLowat = net::detail::socket_option::integer<IPPROTO_TCP, TCP_NOTSENT_LOWAT>;

}  // namespace

struct HttpServer::Impl {
  explicit Impl(const HttpServerOptions& options)
      : ioc(static_cast<int>(std::max<std::size_t>(1, options.threads))),
        acceptor(net::make_strand(ioc)) {}

  void DoAccept() {
    acceptor.async_accept(net::make_strand(ioc), [this](boost::system::error_code ec,
                                                        tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      // Other accept errors (e.g. too many open files) drop that connection and go on.
      if (!ec) {
        // SSE frames and small JSON answers are written in pieces; without TCP_NODELAY, Nagle
        // plus the client's delayed ACK holds each response back ~40 ms. A failure here only
        // costs latency, so the error is ignored.
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        // Set on every connection, not just SSE: a JSON answer's write waiting for the peer is
        // harmless. Kernels without it (before 3.12) fall back to send-buffer autotuning.
        socket.set_option(NotSentLowat(kMaxUnsentBytes), ignored);
        StartHttpSession(std::move(socket), &env);
      }
      DoAccept();
    });
  }

  // Closes the listener on its strand and waits until it is closed (the io threads must run).
  void CloseAcceptor() {
    std::promise<void> closed;
    net::post(acceptor.get_executor(), [this, &closed] {
      boost::system::error_code ignored;  // closing an acceptor only fails when already closed
      acceptor.close(ignored);
      closed.set_value();
    });
    closed.get_future().wait();
  }

  // Declared before ioc: TLS streams left in the io_context's handlers are freed with it.
  std::optional<net::ssl::context> tls;
  std::shared_ptr<AgentBackend> backend;
  SessionRegistry registry;
  SessionEnv env;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  std::vector<std::thread> threads;
  absl::Mutex stop_mu;
  bool stopped ABSL_GUARDED_BY(stop_mu) = false;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    const HttpServerOptions& options, std::shared_ptr<grpc::Channel> channel) {
  if (channel == nullptr) return absl::InvalidArgumentError("HttpServer needs a gRPC channel");
  return Create(options, MakeGrpcBackend(std::move(channel)));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    const HttpServerOptions& options, std::shared_ptr<AgentBackend> backend) {
  if (backend == nullptr) return absl::InvalidArgumentError("HttpServer needs an AgentBackend");
  auto impl = std::make_unique<Impl>(options);
  if (TlsRequested(options) || !options.tls_client_ca_pem.empty()) {
    absl::StatusOr<SslCtxPtr> ctx = MakeServerTlsContext(options);
    if (!ctx.ok()) return ctx.status();
    impl->tls.emplace(ctx->release());  // asio's context owns (and frees) the SSL_CTX
  }
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(options.listen_host, ec);
  if (ec) {
    tcp::resolver resolver(impl->ioc);
    auto results = resolver.resolve(options.listen_host, "", ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(
          Cat("cannot resolve listen host '", options.listen_host, "'"));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options.port);
  auto fail = [&](std::string_view what) {
    return absl::UnavailableError(Cat(what, " ", address.to_string(), ":", options.port,
                                               ": ", ec.message()));
  };
  if (impl->acceptor.open(endpoint.protocol(), ec); ec) return fail("open");
  if (impl->acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("set");
  if (impl->acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (impl->acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen");
  impl->port = impl->acceptor.local_endpoint(ec).port();

  impl->backend = std::move(backend);
  impl->env.options = options;
  impl->env.options.tls_key_pem.clear();  // loaded into the context; no second copy kept
  impl->env.tls = impl->tls ? &*impl->tls : nullptr;
  impl->env.backend = impl->backend.get();
  impl->env.registry = &impl->registry;
  impl->work.emplace(impl->ioc.get_executor());
  impl->DoAccept();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.threads); ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::BeginDrain() {
  {
    absl::MutexLock lock(&impl_->stop_mu);
    if (impl_->stopped) return;  // the io threads are gone: nothing would run the close
  }
  impl_->env.draining.store(true);
  impl_->CloseAcceptor();
}

bool HttpServer::WaitIdle(std::chrono::milliseconds timeout) {
  return impl_->registry.WaitNoRequests(absl::FromChrono(timeout));
}

void HttpServer::Stop() {
  {
    absl::MutexLock lock(&impl_->stop_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->CloseAcceptor();
  impl_->registry.ShutdownAll();
  // Sessions posted TryCancel already; this also covers calls whose session is gone, and waits
  // for each call's last callback so none posts to a destroyed io_context.
  impl_->backend->CancelAllAndWait(kCallDrainTimeout);
  impl_->work.reset();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace agentgateway::gateway
