// Token batches for training: deterministic synthetic data (seeded random tokens, or a learnable repeating
// pattern) and pre-tokenized files of raw little-endian uint16 or uint32 ids (llm.c / Megatron style), where
// rank r of world w reads only its own contiguous slice of the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace awsdt::nn {

/// One micro-batch: inputs[B·T] and targets[B·T] (targets[i] is the token after inputs[i]).
struct TokenBatch {
  int B = 0;                          ///< sequences
  int T = 0;                          ///< tokens per sequence
  std::vector<std::int32_t> inputs;   ///< [B,T]
  std::vector<std::int32_t> targets;  ///< [B,T]
};

/// What synthetic data looks like.
enum class SyntheticKind {
  random,   ///< uniform random tokens: nothing to learn, loss stays near ln(vocab)
  pattern,  ///< a fixed cycle of distinct tokens (the next token follows from the current one): loss falls to ~0
};

/// Parses "random" or "pattern"; throws awsdt::UsageError otherwise.
SyntheticKind parse_synthetic_kind(std::string_view name);

/// Width of the ids in a token file.
enum class TokenDtype { uint16, uint32 };

/// Parses "uint16" or "uint32"; throws awsdt::UsageError otherwise.
TokenDtype parse_token_dtype(std::string_view name);

/// A stream of micro-batches of fixed shape.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  /// Fills batch with the next micro-batch (resizing it to B·T).
  virtual void next(TokenBatch& batch) = 0;
  /// Moves past n micro-batches as if next() had been called n times (a resumed run continues where the
  /// checkpointed one stopped); sources override it to skip without producing the batches.
  virtual void skip(std::int64_t n) {
    TokenBatch unused;
    for (std::int64_t i = 0; i < n; ++i) next(unused);
  }
  /// One line for logs and the result document.
  virtual std::string describe() const = 0;
};

/// Synthetic micro-batches [B,T] over vocab, a pure function of (seed, rank, batch index).
std::unique_ptr<TokenSource> make_synthetic_source(SyntheticKind kind, int vocab, int B, int T, std::uint64_t seed,
                                                   int rank = 0);

/// Micro-batches [B,T] from path: rank gets tokens [rank·S, (rank+1)·S) with S = tokens / world, read as
/// consecutive windows of B·T+1 tokens that advance by B·T and wrap around within the slice.
/// Throws awsdt::UsageError for a missing or unreadable file, a size that is not a whole number of ids, a slice
/// shorter than one micro-batch (naming the file, its token count and what a micro-batch needs), or an id ≥ vocab.
std::unique_ptr<TokenSource> make_file_source(const std::string& path, TokenDtype dtype, int vocab, int B, int T,
                                              int rank = 0, int world = 1);

}  // namespace awsdt::nn
