// Signal handling (see signals.hpp).
#include "util/signals.hpp"

#include <csignal>
#include <unistd.h>

#include <atomic>

namespace awsdt {
namespace {
std::function<void(int)> g_action;
std::atomic<bool> g_fired{false};
std::atomic<int> g_deferred{0};
static_assert(std::atomic<int>::is_always_lock_free, "set from a signal handler");

void handle(int signo) {
  if (g_fired.exchange(true)) _exit(128 + signo);
  if (g_action) g_action(signo);
  _exit(128 + signo);
}

// Repeats are expected (mpirun forwards the SIGTERM it got to ranks that Slurm signalled too): the first one
// stays pending, the rest change nothing. SIGINT and SIGKILL remain the ways to stop at once.
void record(int signo) {
  int none = 0;
  g_deferred.compare_exchange_strong(none, signo);
}

void install(int signo, void (*fn)(int)) {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(signo, &sa, nullptr);
}
}  // namespace

void install_abort_on_signal(std::function<void(int)> on_signal) {
  g_action = std::move(on_signal);
  for (int s : {SIGINT, SIGTERM, SIGQUIT}) install(s, handle);
}

void defer_signals(std::initializer_list<int> signals) {
  for (int s : signals) install(s, record);
}

int deferred_signal() { return g_deferred.load(); }

}  // namespace awsdt
