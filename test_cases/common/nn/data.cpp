// Synthetic and file-backed token sources.
#include "nn/data.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt::nn {
namespace {

constexpr int kPatternPeriod = 16;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A counter-based draw: the same (seed, a, b, c) gives the same value on every machine.
std::uint64_t draw(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return splitmix64(splitmix64(splitmix64(seed ^ splitmix64(a)) ^ b) ^ c);
}

class SyntheticSource final : public TokenSource {
 public:
  SyntheticSource(SyntheticKind kind, int vocab, int B, int T, std::uint64_t seed, int rank)
      : kind_(kind), vocab_(vocab), B_(B), T_(T), seed_(seed), rank_(rank) {
    if (vocab <= 0 || B <= 0 || T <= 0) throw UsageError("synthetic data: vocab, B and T must be positive");
    if (kind_ == SyntheticKind::pattern) {
      // The cycle: the first `period` tokens of a seeded Fisher-Yates shuffle of the vocabulary (distinct ids).
      std::vector<std::int32_t> ids(static_cast<std::size_t>(vocab));
      std::iota(ids.begin(), ids.end(), 0);
      const int period = std::min(kPatternPeriod, vocab);
      for (int i = 0; i < period; ++i) {
        const int j = i + static_cast<int>(draw(seed_, 1, 0, static_cast<std::uint64_t>(i)) % (vocab - i));
        std::swap(ids[i], ids[j]);
      }
      cycle_.assign(ids.begin(), ids.begin() + period);
    }
  }

  void next(TokenBatch& batch) override {
    batch.B = B_;
    batch.T = T_;
    const std::size_t n = static_cast<std::size_t>(B_) * T_;
    batch.inputs.resize(n);
    batch.targets.resize(n);
    const std::uint64_t k = index_++;
    std::vector<std::int32_t> row(static_cast<std::size_t>(T_) + 1);
    for (int b = 0; b < B_; ++b) {
      if (kind_ == SyntheticKind::random) {
        for (int t = 0; t <= T_; ++t)
          row[t] = static_cast<std::int32_t>(draw(seed_ ^ 0x5eedULL, static_cast<std::uint64_t>(rank_), k,
                                                  static_cast<std::uint64_t>(b) * (T_ + 1) + t) %
                                             static_cast<std::uint64_t>(vocab_));
      } else {
        const std::size_t period = cycle_.size();
        const std::size_t start = draw(seed_, 2 + static_cast<std::uint64_t>(rank_), k, b) % period;
        for (int t = 0; t <= T_; ++t) row[t] = cycle_[(start + t) % period];
      }
      std::copy(row.begin(), row.end() - 1, batch.inputs.begin() + static_cast<std::ptrdiff_t>(b) * T_);
      std::copy(row.begin() + 1, row.end(), batch.targets.begin() + static_cast<std::ptrdiff_t>(b) * T_);
    }
  }

  // Every batch is a pure function of (seed, rank, index): skipping is moving the index.
  void skip(std::int64_t n) override { index_ += static_cast<std::uint64_t>(n); }

  std::string describe() const override {
    return kind_ == SyntheticKind::random ? fmt::format("synthetic random tokens (vocab {}, seed {})", vocab_, seed_)
                                          : fmt::format("synthetic repeating pattern of {} tokens (vocab {}, seed {})",
                                                        cycle_.size(), vocab_, seed_);
  }

 private:
  SyntheticKind kind_;
  int vocab_, B_, T_;
  std::uint64_t seed_;
  int rank_;
  std::uint64_t index_ = 0;
  std::vector<std::int32_t> cycle_;
};

class FileSource final : public TokenSource {
 public:
  FileSource(const std::string& path, TokenDtype dtype, int vocab, int B, int T, int rank, int world)
      : path_(path), B_(B), T_(T), rank_(rank), world_(world) {
    // A vocabulary of 0 or less would let every id through the range check below.
    if (vocab <= 0 || B <= 0 || T <= 0) throw UsageError("data: vocab, B and T must be positive");
    if (world <= 0 || rank < 0 || rank >= world)
      throw UsageError(fmt::format("data: rank {} is not in a world of {}", rank, world));
    const std::size_t width = dtype == TokenDtype::uint16 ? 2 : 4;
    const char* type = dtype == TokenDtype::uint16 ? "uint16" : "uint32";
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    if (ec) throw UsageError(fmt::format("data file '{}': {}", path, ec.message()));
    if (bytes % width != 0)
      throw UsageError(
          fmt::format("data file '{}' has {} bytes, not a whole number of {} token ids", path, bytes, type));
    total_ = bytes / width;
    const std::size_t slice = total_ / static_cast<std::size_t>(world);
    const std::size_t need = static_cast<std::size_t>(B) * T + 1;
    if (slice < need)
      throw UsageError(fmt::format(
          "data file '{}' holds {} {} tokens; rank {} of {} reads a slice of {} tokens, but one micro-batch needs "
          "B*T+1 = {} (B={}, T={})",
          path, total_, type, rank, world, slice, need, B, T));
    const std::size_t first = static_cast<std::size_t>(rank) * slice;
    first_ = first;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(fmt::format("data file '{}': cannot open", path));
    in.seekg(static_cast<std::streamoff>(first * width));
    std::vector<unsigned char> raw(slice * width);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
    if (!in) throw UsageError(fmt::format("data file '{}': short read", path));
    tokens_.resize(slice);
    for (std::size_t i = 0; i < slice; ++i) {
      const unsigned char* p = raw.data() + i * width;
      std::uint32_t id = width == 2
                             ? static_cast<std::uint32_t>(p[0] | (p[1] << 8))
                             : static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
                                   (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
      if (id >= static_cast<std::uint32_t>(vocab))
        throw UsageError(fmt::format("data file '{}': token {} at index {} is outside the vocabulary of {}", path, id,
                                     first + i, vocab));
      tokens_[i] = static_cast<std::int32_t>(id);
    }
  }

  void next(TokenBatch& batch) override {
    const std::size_t n = static_cast<std::size_t>(B_) * T_;
    if (pos_ + n + 1 > tokens_.size()) pos_ = 0;
    batch.B = B_;
    batch.T = T_;
    batch.inputs.assign(tokens_.begin() + static_cast<std::ptrdiff_t>(pos_),
                        tokens_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    batch.targets.assign(tokens_.begin() + static_cast<std::ptrdiff_t>(pos_ + 1),
                         tokens_.begin() + static_cast<std::ptrdiff_t>(pos_ + n + 1));
    pos_ += n;
  }

  // The same window arithmetic as next(), without copying tokens.
  void skip(std::int64_t count) override {
    const std::size_t n = static_cast<std::size_t>(B_) * T_;
    for (std::int64_t i = 0; i < count; ++i) {
      if (pos_ + n + 1 > tokens_.size()) pos_ = 0;
      pos_ += n;
    }
  }

  std::string describe() const override {
    return fmt::format("{} ({} tokens; rank {} of {} reads [{}, {}))", path_, total_, rank_, world_, first_,
                       first_ + tokens_.size());
  }

 private:
  std::string path_;
  int B_, T_, rank_, world_;
  std::size_t total_ = 0, first_ = 0, pos_ = 0;
  std::vector<std::int32_t> tokens_;
};

}  // namespace

SyntheticKind parse_synthetic_kind(std::string_view name) {
  if (name == "random") return SyntheticKind::random;
  if (name == "pattern") return SyntheticKind::pattern;
  throw UsageError("unknown synthetic data kind '" + std::string(name) + "' (known: random, pattern)");
}

TokenDtype parse_token_dtype(std::string_view name) {
  if (name == "uint16") return TokenDtype::uint16;
  if (name == "uint32") return TokenDtype::uint32;
  throw UsageError("unknown token dtype '" + std::string(name) + "' (known: uint16, uint32)");
}

std::unique_ptr<TokenSource> make_synthetic_source(SyntheticKind kind, int vocab, int B, int T, std::uint64_t seed,
                                                   int rank) {
  return std::make_unique<SyntheticSource>(kind, vocab, B, T, seed, rank);
}

std::unique_ptr<TokenSource> make_file_source(const std::string& path, TokenDtype dtype, int vocab, int B, int T,
                                              int rank, int world) {
  return std::make_unique<FileSource>(path, dtype, vocab, B, T, rank, world);
}

}  // namespace awsdt::nn
