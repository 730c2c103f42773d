// `hearth serve`'s HTTP side: the route table (OpenAI, Anthropic, health, metrics), API-key
// checks, body limits, and error bodies shaped as each API shapes them. Generation runs on the
// scheduler; each HTTP connection only waits for its job's output.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "server/api.h"

namespace hearth::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;          // 0: any free port (see Server::port())
    std::string api_key;      // empty: no authentication
    size_t max_body_bytes = size_t{32} << 20;
    int http_threads = 64;    // each streaming client holds one
};

class Server {
   public:
    Server(Backend backend, ServerOptions options);
    ~Server();

    // Binds the address; the error says why not (port in use, bad host).
    Status bind();
    // The bound port (after bind).
    int port() const;
    // Serves until stop() is called (from another thread or a signal handler's thread).
    void serve();
    void stop();

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::server
