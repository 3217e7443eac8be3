// The error boundary of every awsdt executable: bad input becomes one line and exit status 2, a failure becomes
// one line naming rank and host, aborts the communicator so no peer waits forever, and exit status 1.
#pragma once

#include <functional>
#include <optional>

#include "util/cli_fwd.hpp"

namespace awsdt {

class Bootstrap;
class Communicator;

/// Aborts `comm` (through its abort_action, valid even after comm is gone) when this process fails or is
/// signalled, so that peers are not left waiting.
void set_abort_target(const Communicator& comm);

/// Ends this process (status 1, with a line naming the peer) when a peer process ends mid-job: a GPU
/// collective waiting for a peer that is gone would otherwise wait until the step watchdog fires.
void end_with_peers(Bootstrap& bootstrap);

/// Aborts the communicator given to set_abort_target, once (later calls, and calls without one, do nothing).
void abort_communicator();

/// Parses the command line. Returns nullopt to go on, or the exit status to return now: 0 after --help or
/// --version, 2 after a bad flag (reported in one line, by the first rank only).
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

/// Runs `body` and returns its exit status, or reports what it threw as described above.
int guarded_main(const std::function<int()>& body);

}  // namespace awsdt
