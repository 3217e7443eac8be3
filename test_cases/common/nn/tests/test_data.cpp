// Token sources: synthetic determinism and the pattern's learnability, and token files (uint16/uint32, each
// rank's slice, wrap-around, the too-short and out-of-vocabulary errors).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/data.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

// Writes ids 0, 1, 2, ... (mod vocab) as little-endian uint16 or uint32 to a fresh temporary file.
std::string write_tokens(std::size_t count, int width, int vocab, const std::string& tag) {
  const auto path =
      std::filesystem::temp_directory_path() / ("awsdt_test_data_" + tag + "_" + std::to_string(::getpid()) + ".bin");
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t id = static_cast<std::uint32_t>(i % vocab);
    for (int b = 0; b < width; ++b) out.put(static_cast<char>((id >> (8 * b)) & 0xff));
  }
  return path.string();
}

TEST(SyntheticData, SameSeedSameBatchesDifferentSeedDifferent) {
  auto a = make_synthetic_source(SyntheticKind::random, 100, 2, 8, 7);
  auto b = make_synthetic_source(SyntheticKind::random, 100, 2, 8, 7);
  auto c = make_synthetic_source(SyntheticKind::random, 100, 2, 8, 8);
  TokenBatch x, y, z;
  for (int i = 0; i < 3; ++i) {
    a->next(x);
    b->next(y);
    c->next(z);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.targets, y.targets);
    EXPECT_NE(x.inputs, z.inputs);
    for (int t = 0; t + 1 < 8; ++t) EXPECT_EQ(x.targets[t], x.inputs[t + 1]);
    for (auto id : x.inputs) EXPECT_TRUE(id >= 0 && id < 100);
  }
}

TEST(SyntheticData, PatternNextTokenFollowsFromCurrent) {
  auto src = make_synthetic_source(SyntheticKind::pattern, 512, 4, 32, 3);
  std::map<int, int> next;
  TokenBatch batch;
  for (int i = 0; i < 5; ++i) {
    src->next(batch);
    for (std::size_t j = 0; j < batch.inputs.size(); ++j) {
      auto [it, fresh] = next.emplace(batch.inputs[j], batch.targets[j]);
      EXPECT_EQ(it->second, batch.targets[j]) << "token " << batch.inputs[j] << " has two successors";
    }
  }
  EXPECT_EQ(next.size(), 16u);  // the cycle's distinct tokens
}

TEST(FileData, EachRankReadsItsOwnSlice) {
  const std::string path = write_tokens(1000, 2, 60000, "slice");
  auto r0 = make_file_source(path, TokenDtype::uint16, 60000, 2, 4, 0, 2);
  auto r1 = make_file_source(path, TokenDtype::uint16, 60000, 2, 4, 1, 2);
  TokenBatch b0, b1;
  r0->next(b0);
  r1->next(b1);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(b0.inputs[i], i);
    EXPECT_EQ(b0.targets[i], i + 1);
    EXPECT_EQ(b1.inputs[i], 500 + i);
    EXPECT_EQ(b1.targets[i], 501 + i);
  }
  r1->next(b1);
  EXPECT_EQ(b1.inputs[0], 508);  // windows advance by B·T
  std::filesystem::remove(path);
}

TEST(FileData, Uint32AndWrapAround) {
  const std::string path = write_tokens(20, 4, 100000, "u32");
  auto src = make_file_source(path, TokenDtype::uint32, 100000, 2, 4);
  TokenBatch b;
  src->next(b);
  EXPECT_EQ(b.inputs[0], 0);
  src->next(b);
  EXPECT_EQ(b.inputs[0], 8);
  EXPECT_EQ(b.targets[7], 16);
  src->next(b);  // 16 + 9 > 20: back to the start of the slice
  EXPECT_EQ(b.inputs[0], 0);
  std::filesystem::remove(path);
}

// A resumed run skips what the checkpointed run consumed: skip(n) must land exactly where n next() calls do,
// across the file's wrap-around and for both synthetic kinds.
TEST(TokenSources, SkipEqualsThatManyNextCalls) {
  const std::string path = write_tokens(1000, 2, 300, "skip");
  std::vector<std::pair<std::unique_ptr<TokenSource>, std::unique_ptr<TokenSource>>> pairs;
  pairs.emplace_back(make_file_source(path, TokenDtype::uint16, 300, 3, 7),
                     make_file_source(path, TokenDtype::uint16, 300, 3, 7));
  for (auto kind : {SyntheticKind::random, SyntheticKind::pattern})
    pairs.emplace_back(make_synthetic_source(kind, 300, 3, 7, 5), make_synthetic_source(kind, 300, 3, 7, 5));
  for (auto& [stepped, skipped] : pairs) {
    TokenBatch a, b;
    for (int i = 0; i < 61; ++i) stepped->next(a);  // 61 x 21 tokens: past the 1000-token wrap
    skipped->skip(61);
    for (int i = 0; i < 3; ++i) {
      stepped->next(a);
      skipped->next(b);
      EXPECT_EQ(a.inputs, b.inputs) << stepped->describe();
      EXPECT_EQ(a.targets, b.targets) << stepped->describe();
    }
  }
  std::filesystem::remove(path);
}

TEST(FileData, TooShortNamesFileCountAndNeed) {
  const std::string path = write_tokens(10, 2, 100, "short");
  try {
    make_file_source(path, TokenDtype::uint16, 100, 2, 4, 1, 2);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("10 uint16 tokens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("slice of 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("= 9"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  std::filesystem::remove(path);
}

TEST(FileData, RejectsMissingFileOddSizeAndOutOfVocabulary) {
  EXPECT_THROW(make_file_source("/nonexistent/tokens.bin", TokenDtype::uint16, 100, 1, 4), UsageError);
  const std::string odd = write_tokens(11, 2, 100, "odd");
  EXPECT_THROW(make_file_source(odd, TokenDtype::uint32, 100, 1, 4), UsageError);  // 22 bytes
  std::filesystem::remove(odd);
  const std::string big = write_tokens(100, 2, 1000, "vocab");
  EXPECT_THROW(make_file_source(big, TokenDtype::uint16, 50, 1, 4), UsageError);
  // Found by tests/fuzz/fuzz_token_file: a vocabulary of 0 or less let every id pass the range check.
  EXPECT_THROW(make_file_source(big, TokenDtype::uint16, 0, 1, 4), UsageError);
  EXPECT_THROW(make_file_source(big, TokenDtype::uint16, -14064, 1, 4), UsageError);
  std::filesystem::remove(big);
}

}  // namespace
}  // namespace awsdt::nn
