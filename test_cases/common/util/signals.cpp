// Signal handling (see signals.hpp).
#include "util/signals.hpp"

#include <csignal>
#include <unistd.h>

#include <atomic>

namespace awsdt {
namespace {
std::function<void(int)> g_action;
std::atomic<bool> g_fired{false};

void handle(int signo) {
  if (g_fired.exchange(true)) _exit(128 + signo);
  if (g_action) g_action(signo);
  _exit(128 + signo);
}
}  // namespace

void install_abort_on_signal(std::function<void(int)> on_signal) {
  g_action = std::move(on_signal);
  struct sigaction sa {};
  sa.sa_handler = handle;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGQUIT}) sigaction(s, &sa, nullptr);
}

}  // namespace awsdt
