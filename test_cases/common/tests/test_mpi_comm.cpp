// The MPI backend under mpirun (2 and 4 ranks): every dtype x op of all_reduce and reduce_scatter, in and out
// of place, odd counts, against expected values computed here with test-local encoders (nothing shared with
// the backend's reduction code); the other collectives; groups; split; and overlap with the caller.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "comm/mpi/mpi_communicator.hpp"
#include "comm/mpi/mpi_runtime.hpp"

using namespace awsdt;

namespace {

// One communicator per wait mode, created in the same order on every rank (MPI_Comm_dup is collective).
Communicator& world(MpiWait wait = MpiWait::spin) {
  static auto spin = make_mpi_communicator(MpiWait::spin);
  static auto poll = make_mpi_communicator(MpiWait::poll);
  return wait == MpiWait::spin ? *spin : *poll;
}

// ---- test-local element encoding (small non-negative integers in, any value out)
void write_int(void* buf, std::size_t i, DataType t, std::int64_t v) {
  switch (t) {
    case DataType::f32: static_cast<float*>(buf)[i] = float(v); break;
    case DataType::f64: static_cast<double*>(buf)[i] = double(v); break;
    case DataType::bf16: {
      float f = float(v);
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      static_cast<std::uint16_t*>(buf)[i] = std::uint16_t(u >> 16);  // exact for integers below 256
      break;
    }
    case DataType::f16: {
      std::uint16_t bits = 0;
      if (v > 0) {
        int e = 0;
        while ((std::int64_t(1) << (e + 1)) <= v) ++e;
        bits = std::uint16_t(((e + 15) << 10) | ((v << (10 - e)) & 0x3ff));
      }
      static_cast<std::uint16_t*>(buf)[i] = bits;
      break;
    }
    case DataType::i8: static_cast<std::int8_t*>(buf)[i] = std::int8_t(v); break;
    case DataType::u8: static_cast<std::uint8_t*>(buf)[i] = std::uint8_t(v); break;
    case DataType::i32: static_cast<std::int32_t*>(buf)[i] = std::int32_t(v); break;
    case DataType::u32: static_cast<std::uint32_t*>(buf)[i] = std::uint32_t(v); break;
    case DataType::i64: static_cast<std::int64_t*>(buf)[i] = v; break;
    case DataType::u64: static_cast<std::uint64_t*>(buf)[i] = std::uint64_t(v); break;
  }
}

double read_value(const void* buf, std::size_t i, DataType t) {
  switch (t) {
    case DataType::f32: return static_cast<const float*>(buf)[i];
    case DataType::f64: return static_cast<const double*>(buf)[i];
    case DataType::bf16: {
      std::uint32_t u = std::uint32_t(static_cast<const std::uint16_t*>(buf)[i]) << 16;
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    case DataType::f16: {
      std::uint16_t b = static_cast<const std::uint16_t*>(buf)[i];
      if ((b & 0x7fff) == 0) return 0.0;
      int e = (b >> 10) & 31;
      double m = 1.0 + (b & 0x3ff) / 1024.0;
      return std::ldexp(m, e - 15) * ((b & 0x8000) ? -1 : 1);
    }
    case DataType::i8: return static_cast<const std::int8_t*>(buf)[i];
    case DataType::u8: return static_cast<const std::uint8_t*>(buf)[i];
    case DataType::i32: return static_cast<const std::int32_t*>(buf)[i];
    case DataType::u32: return static_cast<const std::uint32_t*>(buf)[i];
    case DataType::i64: return double(static_cast<const std::int64_t*>(buf)[i]);
    case DataType::u64: return double(static_cast<const std::uint64_t*>(buf)[i]);
  }
  return NAN;
}

double ulp_fraction(DataType t) {
  switch (t) {
    case DataType::f32: return std::ldexp(1.0, -23);
    case DataType::f64: return std::ldexp(1.0, -52);
    case DataType::f16: return std::ldexp(1.0, -10);
    case DataType::bf16: return std::ldexp(1.0, -7);
    default: return 0;
  }
}

// Rank r's input element i for `op`: small enough that every reduction is exact in every type.
std::int64_t input(ReduceOp op, int r, std::size_t i) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg: return std::int64_t((i * 3 + std::size_t(r) * 5) % 4);
    case ReduceOp::prod: return 1 + std::int64_t((i + std::size_t(r)) % 2);
    default: return std::int64_t((i * 7 + std::size_t(r) * 11) % 100);
  }
}

double expected(ReduceOp op, DataType t, int n, std::size_t i) {
  double acc = double(input(op, 0, i));
  for (int r = 1; r < n; ++r) {
    double v = double(input(op, r, i));
    if (op == ReduceOp::sum || op == ReduceOp::avg) acc += v;
    if (op == ReduceOp::prod) acc *= v;
    if (op == ReduceOp::min) acc = std::min(acc, v);
    if (op == ReduceOp::max) acc = std::max(acc, v);
  }
  if (op != ReduceOp::avg) return acc;
  return is_floating(t) ? acc / n : std::trunc(acc / n);
}

// Counts elements of `got` (count elements, global index offset `base`) that differ from the expectation.
std::size_t wrong(const void* got, std::size_t count, std::size_t base, ReduceOp op, DataType t, int n) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < count; ++i) {
    double want = expected(op, t, n, base + i);
    double have = read_value(got, i, t);
    double tol = op == ReduceOp::avg ? ulp_fraction(t) * std::abs(want) : 0.0;
    if (std::abs(have - want) > tol) ++bad;
  }
  return bad;
}

const std::size_t kCounts[] = {1, 7, 1000, 1023, 4097};

}  // namespace

// Both ways of waiting run the same operations: blocking collectives, and non-blocking ones polled with sleeps.
class MpiCommWait : public ::testing::TestWithParam<MpiWait> {};

TEST_P(MpiCommWait, AllReduceEveryDtypeAndOp) {
  auto& c = world(GetParam());
  Stream s(Device::cpu());
  for (DataType t : all_dtypes()) {
    for (ReduceOp op : all_ops()) {
      for (std::size_t count : kCounts) {
        for (bool in_place : {false, true}) {
          std::size_t bytes = count * dtype_size(t);
          Buffer send(bytes, MemoryKind::Host), recv(bytes, MemoryKind::Host);
          for (std::size_t i = 0; i < count; ++i) write_int(send.data(), i, t, input(op, c.rank(), i));
          void* out = in_place ? send.data() : recv.data();
          c.all_reduce(send.data(), out, count, t, op, s);
          s.synchronize();
          ASSERT_EQ(wrong(out, count, 0, op, t, c.size()), 0u)
              << dtype_name(t) << " " << op_name(op) << " count " << count << (in_place ? " in place" : "");
        }
      }
    }
  }
}

TEST_P(MpiCommWait, ReduceScatterEveryDtypeAndOp) {
  auto& c = world(GetParam());
  Stream s(Device::cpu());
  for (DataType t : all_dtypes()) {
    for (ReduceOp op : all_ops()) {
      for (std::size_t count : {std::size_t(1), std::size_t(7), std::size_t(333)}) {
        for (bool in_place : {false, true}) {
          std::size_t total = count * std::size_t(c.size());
          Buffer send(total * dtype_size(t), MemoryKind::Host), recv(count * dtype_size(t), MemoryKind::Host);
          for (std::size_t i = 0; i < total; ++i) write_int(send.data(), i, t, input(op, c.rank(), i));
          void* out = in_place ? send.as<char>() + std::size_t(c.rank()) * count * dtype_size(t) : recv.data();
          c.reduce_scatter(send.data(), out, count, t, op, s);
          s.synchronize();
          ASSERT_EQ(wrong(out, count, std::size_t(c.rank()) * count, op, t, c.size()), 0u)
              << dtype_name(t) << " " << op_name(op) << " count " << count << (in_place ? " in place" : "");
        }
      }
    }
  }
}

// Blocks of 4 MiB go through MPI's rendezvous protocol; two calls in a row reuse the poll mode's ring scratch,
// and must give the same, exact sums.
TEST_P(MpiCommWait, AllReduceLargeUnevenBlocks) {
  auto& c = world(GetParam());
  Stream s(Device::cpu());
  const std::size_t count = (std::size_t(1) << 20) * std::size_t(c.size()) + 3;  // blocks differ by one element
  std::vector<float> send(count);
  for (std::size_t i = 0; i < count; ++i) send[i] = float(input(ReduceOp::sum, c.rank(), i));
  for (int call = 0; call < 2; ++call) {
    std::vector<float> out(count, -1.0f);
    c.all_reduce(send.data(), out.data(), count, DataType::f32, ReduceOp::sum, s);
    s.synchronize();
    ASSERT_EQ(wrong(out.data(), count, 0, ReduceOp::sum, DataType::f32, c.size()), 0u) << "call " << call;
  }
}

TEST_P(MpiCommWait, ReduceScatterLargeBlocks) {
  auto& c = world(GetParam());
  Stream s(Device::cpu());
  const std::size_t count = std::size_t(1) << 20, total = count * std::size_t(c.size());
  std::vector<float> send(total);
  for (std::size_t i = 0; i < total; ++i) send[i] = float(input(ReduceOp::sum, c.rank(), i));
  for (int call = 0; call < 2; ++call) {
    std::vector<float> out(count, -1.0f);
    c.reduce_scatter(send.data(), out.data(), count, DataType::f32, ReduceOp::sum, s);
    s.synchronize();
    ASSERT_EQ(wrong(out.data(), count, std::size_t(c.rank()) * count, ReduceOp::sum, DataType::f32, c.size()), 0u)
        << "call " << call;
  }
}

TEST_P(MpiCommWait, AllGatherInAndOutOfPlace) {
  auto& c = world(GetParam());
  Stream s(Device::cpu());
  const std::size_t count = 4097;
  for (bool in_place : {false, true}) {
    std::vector<float> mine(count), all(count * c.size(), -1.0f);
    for (std::size_t i = 0; i < count; ++i) mine[i] = float(c.rank() * 10000 + int(i));
    const float* src = mine.data();
    if (in_place) {
      std::copy(mine.begin(), mine.end(), all.begin() + std::ptrdiff_t(c.rank() * count));
      src = all.data() + c.rank() * count;
    }
    c.all_gather(src, all.data(), count, DataType::f32, s);
    s.synchronize();
    for (int r = 0; r < c.size(); ++r)
      for (std::size_t i = 0; i < count; ++i)
        ASSERT_EQ(all[r * count + i], float(r * 10000 + int(i))) << (in_place ? "in place" : "out of place");
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, MpiCommWait, ::testing::Values(MpiWait::spin, MpiWait::poll),
                         [](const auto& info) { return std::string(info.param == MpiWait::spin ? "spin" : "poll"); });

TEST(MpiComm, DataMovementCollectives) {
  auto& c = world();
  const int n = c.size(), me = c.rank();
  Stream s(Device::cpu());
  const std::size_t count = 1001;
  auto value = [](int r, std::size_t i) { return std::int32_t(r * 100000 + int(i)); };

  std::vector<std::int32_t> mine(count), gathered(count * n);
  for (std::size_t i = 0; i < count; ++i) mine[i] = value(me, i);
  c.all_gather(mine.data(), gathered.data(), count, DataType::i32, s);
  s.synchronize();
  for (int r = 0; r < n; ++r)
    for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(gathered[r * count + i], value(r, i));

  // all_to_all: block b of rank r's send holds value(r, b*count + i).
  std::vector<std::int32_t> a2a_send(count * n), a2a_recv(count * n);
  for (std::size_t i = 0; i < a2a_send.size(); ++i) a2a_send[i] = value(me, i);
  c.all_to_all(a2a_send.data(), a2a_recv.data(), count, DataType::i32, s);
  s.synchronize();
  for (int r = 0; r < n; ++r)
    for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(a2a_recv[r * count + i], value(r, me * count + i));

  for (int root = 0; root < n; ++root) {
    std::vector<std::int32_t> out(count, -1);
    c.broadcast(mine.data(), out.data(), count, DataType::i32, root, s);
    std::vector<std::int32_t> red(count, -1);
    c.reduce(mine.data(), red.data(), count, DataType::i32, ReduceOp::max, root, s);
    s.synchronize();
    for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(out[i], value(root, i));
    if (me == root) {
      for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(red[i], value(n - 1, i));
    }
  }

  // Ring exchange inside a group: both directions posted together cannot deadlock.
  std::vector<std::int32_t> from_prev(count, -1);
  c.group_start();
  c.send(mine.data(), count, DataType::i32, (me + 1) % n, s);
  c.recv(from_prev.data(), count, DataType::i32, (me + n - 1) % n, s);
  c.group_end();
  c.barrier(s);
  s.synchronize();
  for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(from_prev[i], value((me + n - 1) % n, i));
}

TEST(MpiComm, SplitMakesIndependentGroups) {
  auto& c = world();
  auto half = c.split(c.rank() % 2, c.rank());
  ASSERT_TRUE(half);
  EXPECT_EQ(half->size(), (c.size() + 1 - c.rank() % 2) / 2);
  EXPECT_EQ(half->rank(), c.rank() / 2);
  Stream s(Device::cpu());
  std::int64_t v = c.rank(), sum = 0;
  half->all_reduce(&v, &sum, 1, DataType::i64, ReduceOp::sum, s);
  s.synchronize();
  std::int64_t want = 0;
  for (int r = c.rank() % 2; r < c.size(); r += 2) want += r;
  EXPECT_EQ(sum, want);
  EXPECT_EQ(half->hosts().size(), std::size_t(half->size()));
  EXPECT_EQ(c.split(-1, 0), nullptr);  // no color: not a member of any group
}

TEST(MpiComm, OutOfRangePeersAreUsageErrors) {
  auto& c = world();
  Stream s(Device::cpu());
  int x = 0;
  EXPECT_THROW(c.send(&x, 1, DataType::i32, c.size(), s), UsageError);
  EXPECT_THROW(c.broadcast(&x, &x, 1, DataType::i32, -1, s), UsageError);
}

// A collective that takes long (a peer arrives late) runs on the stream while this rank computes: the total is
// about max(compute, collective), not the sum.
TEST(MpiComm, CollectiveOverlapsWithCompute) {
  auto& c = world();
  if (c.size() != 2) GTEST_SKIP() << "overlap is measured with 2 ranks (2 cores here)";
  using clock = std::chrono::steady_clock;
  constexpr int kDelayMs = 400;
  Stream s(Device::cpu());
  auto compute = [] {
    volatile double acc = 0;
    for (int i = 0; i < 40'000'000; ++i) acc = acc + std::sqrt(double(i));
    return acc;
  };
  double v = 1, out = 0;
  c.barrier(s);
  s.synchronize();
  auto t0 = clock::now();
  compute();
  double compute_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();

  c.barrier(s);
  s.synchronize();
  if (c.rank() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(kDelayMs));
  t0 = clock::now();
  c.all_reduce(&v, &out, 1, DataType::f64, ReduceOp::sum, s);
  if (c.rank() == 0) compute();
  s.synchronize();
  double both_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  EXPECT_EQ(out, 2.0);
  if (c.rank() == 0) {
    double serial = compute_ms + kDelayMs;
    EXPECT_LT(both_ms, 0.8 * serial) << "compute " << compute_ms << " ms, collective ~" << kDelayMs << " ms, together "
                                     << both_ms << " ms";
  }
}
