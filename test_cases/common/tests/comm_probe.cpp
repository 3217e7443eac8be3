// A tiny multi-rank program for failure tests: ranks all-reduce in a loop, and one rank dies (SIGKILL) or
// stops participating at a chosen iteration. The others must end with a message naming it, never hang.
#include <csignal>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/guard.hpp"
#include "bench/loop.hpp"
#include "comm/registry.hpp"
#include "util/error.hpp"

using namespace awsdt;

int main(int argc, char** argv) {
  return guarded_main([&] {
    CLI::App app{"awsdt comm probe (tests only)"};
    std::string mode = "none";
    int victim = 1, at = 5, iters = 50;
    double timeout_s = 5;
    app.add_option("--mode", mode)->check(CLI::IsMember({"none", "die", "hang", "usage"}));
    app.add_option("--victim", victim);
    app.add_option("--at", at);
    app.add_option("--iters", iters);
    app.add_option("--timeout", timeout_s);
    if (auto rc = parse_command_line(app, argc, argv)) return *rc;

    auto world = make_comm_world(CommConfig{});
    auto& comm = world.comm();
    set_abort_target(comm);
    end_with_peers(*world.bootstrap);
    Stream stream(comm.device());
    std::vector<float> buf(1 << 16, 1.0f);
    for (int i = 0; i < iters; ++i) {
      if (comm.rank() == victim && i == at) {
        if (mode == "die") std::raise(SIGKILL);
        if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
        if (mode == "usage") throw UsageError("bad input seen by this rank only");
      }
      comm.all_reduce(buf.data(), buf.data(), buf.size(), DataType::f32, ReduceOp::max, stream);
      synchronize_or_throw(stream, timeout_s, "all_reduce");
    }
    return 0;
  });
}
