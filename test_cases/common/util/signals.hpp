// Signal handling. Fatal signals (SIGINT/SIGTERM/SIGQUIT) run one registered abort action (for example aborting
// the communicator so peers do not wait forever) before the process exits. A trainer may instead defer some
// signals (SIGTERM, SIGUSR1, SIGUSR2: what schedulers send before preempting or at the time limit): they are only
// recorded, and the program acts on them at a safe point (finish the step, checkpoint, exit kExitRequeue).
#pragma once

#include <functional>
#include <initializer_list>

namespace awsdt {

/// Exit status of a program that stopped early on purpose and should be started again (it checkpointed after a
/// preemption signal): EX_TEMPFAIL, "temporary failure, the user is invited to retry". Launchers requeue on it.
inline constexpr int kExitRequeue = 75;

/// Installs handlers that call `on_signal(signo)` once and then exit with 128+signo.
/// The action must be async-signal tolerant in spirit: it is the last thing this process does.
void install_abort_on_signal(std::function<void(int)> on_signal);

/// From now on each of `signals` is recorded instead of ending the process (see deferred_signal()); later ones
/// while one is pending are ignored.
void defer_signals(std::initializer_list<int> signals);

/// The first deferred signal received so far, or 0.
int deferred_signal();

}  // namespace awsdt
