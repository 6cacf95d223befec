// `tessera serve --model-repository DIR [--http-port P] [--grpc-port Q]`: the KServe v2 model server
// (docs/serving.md). SIGTERM or SIGINT stops accepting, answers the requests in flight, exits 0.
#include <CLI/CLI.hpp>

#include <iostream>

#include "tools/commands.h"
#include "tools/session_flags.h"

#ifdef TESSERA_HAVE_SERVE
#include <pthread.h>
#include <signal.h>

#include <thread>

#include "src/serve/http_server.h"
#include "src/serve/metrics.h"
#include "src/serve/model_repository.h"
#endif
#ifdef TESSERA_HAVE_SERVE_GRPC
#include "src/serve/grpc_server.h"
#endif

namespace tessera::cli {

CLI::App* add_serve_command(CLI::App& app, ServeArgs& args) {
  auto* cmd = app.add_subcommand("serve", "Serve a model repository over the KServe v2 (Open Inference) HTTP protocol");
  cmd->add_option("--model-repository", args.model_repository, "folder of MODEL/VERSION/model.onnx (+ MODEL/config.json)")
      ->required();
  cmd->add_option("--host", args.host, "address to listen on (default 0.0.0.0)");
  cmd->add_option("--http-port", args.http_port, "HTTP port (default 8000; 0 = any free port, printed on stdout)");
  cmd->add_option("--http-threads", args.http_threads, "connections served at once (default 32)");
  cmd->add_option("--grpc-port", args.grpc_port,
                  "KServe v2 gRPC port (default -1: no gRPC; 0 = any free port, printed on stdout)");
  cmd->add_option("--grpc-threads", args.grpc_threads, "gRPC calls served at once (default 32)");
  cmd->add_option("--threads", args.threads, "intra-op threads of each run (0 = one per core)");
  cmd->add_option("--opt-level", args.opt_level, kOptLevelHelp);
  cmd->add_option("--log-level", args.log_level, kLogLevelHelp);
  cmd->add_option("--max-body-bytes", args.max_body_bytes, "larger request bodies (HTTP: 413) and gRPC messages (RESOURCE_EXHAUSTED) are refused (default 64 MiB)");
  cmd->add_option("--max-input-bytes", args.max_input_bytes, "larger input tensors are refused (HTTP: 400, gRPC: RESOURCE_EXHAUSTED; default 1 GiB)");
  cmd->add_option("--request-timeout-ms", args.request_timeout_ms,
                  "a request not answered after this long (queue + run) gets 504 (default 60000)");
  cmd->add_flag("--no-access-log", args.no_access_log, "no JSON access-log line per request on stderr");
  return cmd;
}

#ifdef TESSERA_HAVE_SERVE

int serve_command(const ServeArgs& args) {
  auto options = session_options(args.threads, args.opt_level, args.log_level);
  if (!options.is_ok()) {
    std::cerr << "error: " << options.status().message() << "\n";
    return 1;
  }
  if (args.request_timeout_ms <= 0 || args.max_input_bytes == 0 || args.max_body_bytes == 0) {
    std::cerr << "error: --request-timeout-ms, --max-input-bytes and --max-body-bytes must be positive\n";
    return 1;
  }
  // Signals go to one thread that waits for them: blocked here, before any thread starts, so every
  // thread inherits the mask. A client that hangs up must not kill the server (SIGPIPE).
  signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);  // sent by this function itself to end the waiting thread
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  serve::Metrics metrics;
  serve::ModelRepository repository(args.model_repository, *options, metrics);
  serve::ServerOptions http;
  http.host = args.host;
  http.port = args.http_port;
  http.threads = args.http_threads;
  http.max_request_bytes = args.max_body_bytes;
  http.codec.max_tensor_bytes = static_cast<int64_t>(args.max_input_bytes);
  http.request_timeout = std::chrono::milliseconds(args.request_timeout_ms);
  http.access_log = !args.no_access_log;
  serve::HttpServer server(repository, metrics, http);
  auto port = server.bind();
  if (!port.is_ok()) {
    std::cerr << "error: " << port.status().message() << "\n";
    return 1;
  }
  std::string listening = "HTTP on " + args.host + ":" + std::to_string(*port);
#ifdef TESSERA_HAVE_SERVE_GRPC
  // The same repository, schedulers, limits and metrics as HTTP, on gRPC's own threads.
  serve::ServerOptions grpc_options = http;
  grpc_options.port = args.grpc_port;
  grpc_options.threads = args.grpc_threads;
  serve::GrpcServer grpc_server(repository, metrics, grpc_options);
  if (args.grpc_port >= 0) {
    auto grpc_port = grpc_server.start();
    if (!grpc_port.is_ok()) {
      std::cerr << "error: " << grpc_port.status().message() << "\n";
      return 1;
    }
    listening += ", gRPC on " + args.host + ":" + std::to_string(*grpc_port);
  }
#else
  if (args.grpc_port >= 0) {
    std::cerr << "error: this tessera was built without gRPC serving (install libgrpc++-dev and "
                 "protobuf-compiler-grpc, then rebuild)\n";
    return 1;
  }
#endif
  // Started before the models load, so a SIGTERM while they load ends the server once they have.
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    if (received != SIGUSR1) {
      std::cerr << "tessera serve: signal " << received << ", finishing the requests in flight\n";
      server.stop();
#ifdef TESSERA_HAVE_SERVE_GRPC
      grpc_server.stop();
#endif
    }
  });
  // A model that fails to load stays UNAVAILABLE (repository index says why) and the server is not
  // ready until it loads or its folder goes; the others are served.
  Status loaded = repository.load_all();
  if (!loaded.is_ok()) std::cerr << "error: " << loaded.message() << "\n";
  server.set_ready(true);
#ifdef TESSERA_HAVE_SERVE_GRPC
  grpc_server.set_ready(true);
#endif

  std::cout << "tessera serve: " << listening << ", repository " << args.model_repository << std::endl;
  server.serve();
#ifdef TESSERA_HAVE_SERVE_GRPC
  grpc_server.stop();  // after a signal: waits for the signal thread's stop, so gRPC calls in flight are answered
#endif
  pthread_kill(signal_waiter.native_handle(), SIGUSR1);
  signal_waiter.join();
  repository.unload_all();
  std::cout << "tessera serve: stopped" << std::endl;
  return 0;
}

#else

int serve_command(const ServeArgs&) {
  std::cerr << "error: this tessera was built without the model server (install libcpp-httplib-dev and "
               "nlohmann-json3-dev, then rebuild)\n";
  return 1;
}

#endif

}  // namespace tessera::cli
