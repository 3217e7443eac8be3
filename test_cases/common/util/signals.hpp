// Fatal-signal handling: SIGINT/SIGTERM/SIGQUIT run one registered abort action (for example aborting the
// communicator so peers do not wait forever) before the process exits.
#pragma once

#include <functional>

namespace awsdt {

/// Installs handlers that call `on_signal(signo)` once and then exit with 128+signo.
/// The action must be async-signal tolerant in spirit: it is the last thing this process does.
void install_abort_on_signal(std::function<void(int)> on_signal);

}  // namespace awsdt
