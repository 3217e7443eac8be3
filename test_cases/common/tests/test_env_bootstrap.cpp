// The torchrun-style TCP bootstrap with real processes on loopback: a normal rendezvous, a peer that never
// arrives, a rank 0 that never starts, missing variables, and watched peers that end cleanly, die or fail.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"
#include "util/error.hpp"

using namespace awsdt;
using namespace std::chrono;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

void set_env(int port, int rank, int world) {
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  ::setenv("RANK", std::to_string(rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
}

// Runs a bootstrap as `rank` in a child process; the child exits 0 when it received rank 0's blob.
pid_t spawn_rank(int port, int rank, int world) {
  pid_t pid = ::fork();
  if (pid == 0) {
    set_env(port, rank, world);
    try {
      auto b = make_env_bootstrap(seconds(10));
      auto blob = b->broadcast_from_root({});
      bool ok = b->rank() == rank && b->size() == world && blob == std::vector<std::uint8_t>{1, 2, 3} &&
                int(b->hosts().size()) == world && !b->hosts()[0].empty();
      ::_exit(ok ? 0 : 3);
    } catch (...) {
      ::_exit(4);
    }
  }
  return pid;
}

// How a watched rank's job ends.
enum class Ending { finishes, dies, throws };

// Runs a watched bootstrap as `rank` in a child that works for `work`, then ends as `how` says. Exit status: 0 after
// a clean end, 7 when its watcher ended it (its line goes to `lines`), 9 when it died, 4 when it threw.
pid_t spawn_watched(int port, int rank, int world, milliseconds work, Ending how, int lines) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  set_env(port, rank, world);
  try {
    auto b = make_env_bootstrap(seconds(10));
    b->watch_peers([lines](const std::string& what) {
      const std::string line = what + "\n";
      (void)!::write(lines, line.data(), line.size());
      ::_exit(7);
    });
    std::this_thread::sleep_for(work);
    if (how == Ending::dies) ::_exit(9);
    if (how == Ending::throws) throw std::runtime_error("this rank fails");
  } catch (...) {
    ::_exit(4);  // the bootstrap is gone already: destroyed while the exception unwound
  }
  ::_exit(0);
}

struct WatchedJob {
  std::vector<int> statuses;
  std::string lines;
  double seconds = 0;
};

// Three watched ranks, each working for work[r] and ending as how[r].
WatchedJob run_watched(const std::vector<milliseconds>& work, const std::vector<Ending>& how) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const int port = free_port(), world = int(work.size());
  const auto t0 = steady_clock::now();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) pids.push_back(spawn_watched(port, r, world, work[r], how[r], fds[1]));
  ::close(fds[1]);
  WatchedJob job;
  for (pid_t p : pids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    job.statuses.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  job.seconds = duration<double>(steady_clock::now() - t0).count();
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) job.lines.append(buf, std::size_t(n));
  ::close(fds[0]);
  return job;
}

}  // namespace

TEST(EnvBootstrap, WatchedRanksThatFinishAtDifferentTimesEndCleanly) {
  const auto job = run_watched({milliseconds(50), milliseconds(400), milliseconds(800)},
                               {Ending::finishes, Ending::finishes, Ending::finishes});
  EXPECT_EQ(job.statuses, (std::vector<int>{0, 0, 0})) << job.lines;
  EXPECT_EQ(job.lines, "");
}

TEST(EnvBootstrap, APeerThatDiesEndsTheOthersNamingIt) {
  // Ranks 0 and 1 would work for a minute (a collective that can never finish); rank 2 dies after 300 ms.
  const auto job =
      run_watched({seconds(60), seconds(60), milliseconds(300)}, {Ending::finishes, Ending::finishes, Ending::dies});
  EXPECT_EQ(job.statuses, (std::vector<int>{7, 7, 9})) << job.lines;
  EXPECT_LT(job.seconds, 10.0);
  // Both survivors name rank 2 (rank 1 learns it from rank 0), each line saying which rank it ends.
  const auto first = job.lines.find("rank 2 on ");
  ASSERT_NE(first, std::string::npos) << job.lines;
  EXPECT_NE(job.lines.find("rank 2 on ", first + 1), std::string::npos) << job.lines;
  EXPECT_NE(job.lines.find("ending rank 0 on"), std::string::npos) << job.lines;
  EXPECT_NE(job.lines.find("ending rank 1 on"), std::string::npos) << job.lines;
}

TEST(EnvBootstrap, ARootThatDiesIsNamedByTheOthers) {
  const auto job =
      run_watched({milliseconds(300), seconds(60), seconds(60)}, {Ending::dies, Ending::finishes, Ending::finishes});
  EXPECT_EQ(job.statuses, (std::vector<int>{9, 7, 7})) << job.lines;
  EXPECT_LT(job.seconds, 10.0);
  EXPECT_NE(job.lines.find("rank 0 on "), std::string::npos) << job.lines;
}

TEST(EnvBootstrap, ARankThatFailsLeavesWithoutTheCleanBarrier) {
  // An exception unwinds rank 1's bootstrap: it must not wait for the others at the end-of-job barrier (they
  // would wait a minute), and they must see it go.
  const auto job =
      run_watched({seconds(60), milliseconds(300), seconds(60)}, {Ending::finishes, Ending::throws, Ending::finishes});
  EXPECT_EQ(job.statuses, (std::vector<int>{7, 4, 7})) << job.lines;
  EXPECT_LT(job.seconds, 10.0);
  EXPECT_NE(job.lines.find("rank 1 on "), std::string::npos) << job.lines;
}

TEST(EnvBootstrap, RanksMeetAndReceiveRootsBlob) {
  int port = free_port();
  pid_t child = spawn_rank(port, 1, 3);
  pid_t child2 = spawn_rank(port, 2, 3);
  set_env(port, 0, 3);
  auto b = make_env_bootstrap(seconds(10));
  EXPECT_EQ(b->rank(), 0);
  EXPECT_EQ(b->size(), 3);
  EXPECT_EQ(b->hosts().size(), 3u);
  EXPECT_EQ(b->broadcast_from_root({1, 2, 3}), (std::vector<std::uint8_t>{1, 2, 3}));
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::waitpid(child2, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(EnvBootstrap, MissingPeerIsNamedWithinTheTimeout) {
  set_env(free_port(), 0, 3);
  auto t0 = steady_clock::now();
  try {
    make_env_bootstrap(milliseconds(800));
    FAIL() << "rendezvous without peers succeeded";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("rank(s) 1,2 never connected"), std::string::npos) << msg;
    EXPECT_NE(msg.find("WORLD_SIZE=3"), std::string::npos) << msg;
  }
  EXPECT_LT(duration<double>(steady_clock::now() - t0).count(), 3.0);
}

TEST(EnvBootstrap, UnreachableRootIsNamedWithinTheTimeout) {
  int port = free_port();
  set_env(port, 1, 2);
  auto t0 = steady_clock::now();
  try {
    make_env_bootstrap(milliseconds(800));
    FAIL() << "joined a rank 0 that does not exist";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("could not reach rank 0 at 127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
  }
  EXPECT_LT(duration<double>(steady_clock::now() - t0).count(), 3.0);
}

TEST(EnvBootstrap, MissingOrBadVariablesAreUsageErrors) {
  set_env(free_port(), 0, 2);
  ::unsetenv("MASTER_ADDR");
  try {
    make_env_bootstrap(seconds(1));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("MASTER_ADDR is not set"), std::string::npos) << e.what();
  }
  set_env(free_port(), 5, 2);
  try {
    make_env_bootstrap(seconds(1));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("RANK=5 is out of range for WORLD_SIZE=2"), std::string::npos) << e.what();
  }
  set_env(free_port(), 0, 2);
  ::setenv("WORLD_SIZE", "two", 1);
  try {
    make_env_bootstrap(seconds(1));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("WORLD_SIZE='two' is not an integer"), std::string::npos) << e.what();
  }
}
