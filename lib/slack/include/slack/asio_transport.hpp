#pragma once

// The service's one io thread (design §1): an Asio io_context that runs the
// Socket Mode sockets (websocketpp, TLS) and serves as the process's
// core::Scheduler. Created once by main and shared: SocketModeClient runs on
// it, and so can the App's timers. Kept C++17 (socket_transport.cpp, the only
// translation unit with websocketpp and Asio, implements it).

#include <memory>

#include "core/clock.hpp"
#include "core/scheduler.hpp"
#include "slack/connector.hpp"

namespace slack {

/// A core::Scheduler running on its own io thread, and the Connector whose
/// sockets live on that thread. post()/after() and Timer::cancel() from any
/// thread; connect() and Connection methods on the io thread only.
class AsioTransport : public core::Scheduler, public Connector {
 public:
  /// Starts the io thread. Idempotent; does nothing after stop_and_join().
  virtual void start() = 0;
  /// Stops the io thread (pending tasks and timers are dropped; open sockets
  /// are cut) and joins it. Idempotent. Not from the io thread.
  virtual void stop_and_join() = 0;
  /// True on the io thread.
  virtual bool on_io_thread() const = 0;
};

/// The transport, with now() and timers on `clock`'s monotonic time (which
/// must be real time: Asio waits on the steady clock). `clock` must outlive it.
std::unique_ptr<AsioTransport> make_asio_transport(const core::Clock& clock);
/// The same on the system clock.
std::unique_ptr<AsioTransport> make_asio_transport();

}  // namespace slack
