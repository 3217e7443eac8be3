// Sizes, summaries and tables: the small pieces every benchmark reports through.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "bench/loop.hpp"
#include "bench/sizes.hpp"
#include "bench/summary.hpp"
#include "results/table.hpp"
#include "util/error.hpp"

using namespace awsdt;

TEST(Sizes, ParsesNcclTestsSuffixes) {
  EXPECT_EQ(parse_bytes("8"), 8u);
  EXPECT_EQ(parse_bytes("64K"), 65536u);
  EXPECT_EQ(parse_bytes("128M"), 128u << 20);
  EXPECT_EQ(parse_bytes("16G"), 16ull << 30);
  EXPECT_EQ(parse_bytes("2k"), 2048u);
  EXPECT_EQ(parse_bytes("1GB"), 1ull << 30);
}

TEST(Sizes, RejectsMalformedWithTheValueInTheMessage) {
  for (const char* bad : {"12Q", "", "K", "1.5M", "-4", "99999999999999999999"}) {
    try {
      parse_bytes(bad, "minbytes");
      FAIL() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("minbytes"), std::string::npos);
    }
  }
}

TEST(Summary, MatchesNumpyPercentiles) {
  // numpy: np.percentile([1..10], [50, 95, 99]) = 5.5, 9.55, 9.91; std(ddof=1) = 3.0276503540974917
  std::vector<double> v{10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
  auto s = summarize(v);
  EXPECT_EQ(s.count, 10u);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.p50, 5.5);
  EXPECT_NEAR(s.p95, 9.55, 1e-12);
  EXPECT_NEAR(s.p99, 9.91, 1e-12);
  EXPECT_NEAR(s.stdev, 3.0276503540974917, 1e-12);
  EXPECT_EQ(summarize({}).count, 0u);
}

TEST(Table, AlignsAndQuotesCsv) {
  Table t{{"size", "name"}, {{"8", "a,b"}, {"1024", "say \"hi\""}}};
  EXPECT_EQ(format_table(t), "size  name\n8     a,b\n1024  say \"hi\"\n");
  EXPECT_EQ(format_csv(t), "size,name\r\n8,\"a,b\"\r\n1024,\"say \"\"hi\"\"\"\r\n");
}

TEST(TimeLoop, RunsTheBarrierOnceBetweenWarmUpAndTheTimedIterations) {
  for (bool blocking : {false, true}) {
    std::mutex m;
    std::vector<std::string> order;
    auto note = [&](std::string what) {
      std::lock_guard lock(m);
      order.push_back(std::move(what));
    };
    Stream stream(Device::cpu());
    LoopConfig c;
    c.warmup = 2;
    c.iters = 3;
    c.blocking = blocking;
    c.before_timing = [&] { note("barrier"); };
    time_loop(std::span<Stream>(&stream, 1), c,
              [&](int i) { stream.enqueue([&note, i] { note(std::to_string(i)); }); });
    EXPECT_EQ(order, (std::vector<std::string>{"0", "1", "barrier", "0", "1", "2"})) << "blocking " << blocking;
  }
}
