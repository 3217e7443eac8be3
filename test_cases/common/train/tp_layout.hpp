// Megatron-LM's tensor-parallel decomposition of the Llama model: which slice of every tensor one rank of a TP
// group of `tp` ranks holds. Query heads are split (q_proj's rows, o_proj's columns); key/value heads are split
// when tp divides them and replicated otherwise (each rank holds the one its query heads read, as Megatron does
// when TP exceeds the query groups); the MLP's gate_proj and up_proj rows and down_proj's columns are split; the
// embedding and the LM head are split over the vocabulary (rows); norm weights are whole on every rank.
// A local unit keeps the whole unit's tensor names and order, with the local shapes.
#pragma once

#include <vector>

#include "nn/config.hpp"
#include "nn/layout.hpp"

namespace awsdt::train {

/// One TP rank's share of the model.
struct TpSlice {
  int tp = 1, rank = 0;
  int heads = 0;               ///< query heads here: n_heads / tp, heads [rank·heads, ...)
  int kv_heads = 0;            ///< key/value heads here: n_kv_heads / tp, or 1 when replicated
  int kv_first = 0;            ///< the first (global) key/value head here
  bool kv_replicated = false;  ///< tp > n_kv_heads: each key/value head is held by tp / n_kv_heads ranks
  int ffn = 0;                 ///< ffn_dim / tp
  int vocab = 0;               ///< vocab_size / tp, rows [vocab_first, vocab_first + vocab)
  int vocab_first = 0;
  bool kv_below = false;  ///< a lower rank holds kv_first too (replicated)
};

/// Throws UsageError (one line naming the value) when config does not split over tp ranks: tp must divide the
/// query heads, the MLP width and the vocabulary, and either divide the key/value heads or be a multiple of them.
void check_tensor_parallel(const nn::ModelConfig& config, int tp);
/// Rank `rank`'s slice (config checked).
TpSlice tp_slice(const nn::ModelConfig& config, int tp, int rank);
/// The units of the slice: the whole model's tensor names and order with the local shapes.
std::vector<nn::UnitLayout> tp_unit_layouts(const nn::ModelConfig& config, const TpSlice& slice);
/// Copies the slice's part of unit `unit` from whole (nn::unit_layouts order) into local (tp_unit_layouts order).
void tp_slice_unit(const nn::ModelConfig& config, const TpSlice& slice, int unit, const float* whole, float* local);
/// The inverse: writes local into the slice's place in whole (a replicated tensor is written whole).
void tp_place_unit(const nn::ModelConfig& config, const TpSlice& slice, int unit, const float* local, float* whole);
/// Whether tensor `tensor` of local unit `unit` is also held, identically, by a lower rank (norm weights on
/// ranks > 0; a replicated key/value head on all but its first holder).
bool tp_held_below(const nn::ModelConfig& config, const TpSlice& slice, int unit, int tensor);

}  // namespace awsdt::train
