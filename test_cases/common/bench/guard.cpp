// Error boundary (see guard.hpp).
#include "bench/guard.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/communicator.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/signals.hpp"

namespace awsdt {
namespace {
std::mutex g_mutex;
std::function<void()> g_abort;
bool g_watching = false;  // a peer watch runs (end_with_peers with peers)
// The line naming a lost peer, for whichever prints it first: the watch's thread, or the signal handler of a
// launcher's SIGTERM that arrives at the same moment (mpirun ends the survivors as soon as a rank dies).
char g_lost_line[1024];
std::atomic<bool> g_lost_known{false};
std::atomic<bool> g_lost_printed{false};
// A rank other than 0 that met bad input waits for rank 0 to print it (below); the launcher then ends it, quietly.
std::atomic<bool> g_leaving_on_usage{false};

bool print_lost_line() {
  if (!g_lost_known.load() || g_lost_printed.exchange(true)) return g_lost_known.load();
  (void)!::write(2, g_lost_line, std::strlen(g_lost_line));
  return true;
}

// Before a communicator exists only the launcher's variables say which rank we are; print usage errors once.
bool is_first_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "RANK", "SLURM_PROCID"}) {
    auto s = env_string(v);
    if (s) return *s == "0";
  }
  return true;
}

}  // namespace

void abort_communicator() {
  std::function<void()> action;
  {
    std::lock_guard lock(g_mutex);
    action = std::exchange(g_abort, nullptr);
  }
  if (action) action();
}

void set_abort_target(const Communicator& comm) {
  {
    std::lock_guard lock(g_mutex);
    g_abort = comm.abort_action();
  }
  install_abort_on_signal([](int signo) {
    if (g_leaving_on_usage.load()) std::_Exit(2);
    if (print_lost_line()) return abort_communicator();
    std::string msg = "awsdt: rank " + std::to_string(process_rank()) + " on " + host_name() + " received signal " +
                      std::to_string(signo) + ", aborting\n";
    (void)!::write(2, msg.data(), msg.size());
    abort_communicator();
  });
}

void end_with_peers(Bootstrap& bootstrap) {
  if (bootstrap.size() > 1) {
    std::lock_guard lock(g_mutex);
    g_watching = true;
  }
  // The bootstrap's watch has already given a peer that failed on its own error (bad input fails every rank
  // alike, and only rank 0 prints it) time to let this rank reach the same error and exit 2 with its line.
  bootstrap.watch_peers([](const std::string& what) {
    if (g_leaving_on_usage.load()) std::_Exit(2);  // rank 0 left first, having printed the error
    const std::string msg = "awsdt: " + what + "\n";
    std::snprintf(g_lost_line, sizeof(g_lost_line), "%s", msg.c_str());
    g_lost_known = true;
    print_lost_line();
    // No communicator abort: it may block on the very peer that is gone, and ending the process frees it all.
    std::_Exit(1);
  });
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  // CLI11 takes `--flag=` for `--flag` without its value and then reports whatever argument follows instead of
  // the flag: refuse the empty value here, naming the flag (arguments after a bare `--` are the benchmark's).
  for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.starts_with("--") && arg.size() > 3 && arg.find('=') == arg.size() - 1) {
      if (is_first_rank())
        std::fprintf(stderr, "error: %.*s: the value after '=' is empty\n", static_cast<int>(arg.size() - 1), argv[i]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version: printed on stdout
    if (is_first_rank()) std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}

int guarded_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    if (is_first_rank()) std::fprintf(stderr, "error: %s\n", e.what());
    std::fflush(stderr);
    std::fflush(stdout);
    // Bad input is seen alike by every rank. Leave without MPI_Finalize's barrier (a peer that did not fail
    // would hold it forever); launchers end the job on a non-zero exit, and the status stays 2.
    bool has_peers;
    {
      std::lock_guard lock(g_mutex);
      has_peers = g_abort != nullptr;
    }
    if (!has_peers) return 2;
    // Were this rank to leave first, the launcher could end rank 0 before it prints the error (mpirun signals
    // the others a second after the first exit): wait for rank 0 to print it and leave, so that the launcher
    // ends this rank (quietly, see above), and say it here only if rank 0 never does.
    if (!is_first_rank()) {
      g_leaving_on_usage = true;
      std::this_thread::sleep_for(std::chrono::seconds(5));
      std::fprintf(stderr, "error: rank %d on %s: %s\n", process_rank(), host_name().c_str(), e.what());
      std::fflush(stderr);
    }
    std::_Exit(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    std::fflush(stderr);
    bool watching;
    {
      std::lock_guard lock(g_mutex);
      watching = g_watching && g_abort != nullptr;
    }
    // A transport error is often the first sign of a lost peer: give the peer watch a moment to name it (it
    // ends the process with that line) before the abort takes every rank down.
    if (watching) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    abort_communicator();
    return 1;
  }
}

}  // namespace awsdt
