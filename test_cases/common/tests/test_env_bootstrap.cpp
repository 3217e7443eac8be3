// The torchrun-style TCP bootstrap with real processes on loopback: a normal rendezvous, a peer that never
// arrives, a rank 0 that never starts, and missing variables.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

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

}  // namespace

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
