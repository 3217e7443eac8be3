// Tensor-parallel slices of the Llama units: every tensor is whole, a block of rows or a block of columns.
#include "train/tp_layout.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

#include <fmt/format.h>

#include "nn/model.hpp"
#include "util/error.hpp"

namespace awsdt::train {
namespace {

enum class Cut { whole, rows, cols };
struct TensorCut {
  Cut cut = Cut::whole;
  int first = 0, count = 0;  ///< rows or columns [first, first + count) of the whole tensor
};

// The cut of each tensor of unit `unit`, in layout order (nn/layout.cpp).
std::vector<TensorCut> unit_cuts(const nn::ModelConfig& c, const TpSlice& s, int unit) {
  const int hd = c.head_dim();
  const TensorCut vocab{Cut::rows, s.vocab_first, s.vocab};
  if (unit == 0) return {vocab};
  if (unit == c.n_layers + 1) return c.tied_embeddings ? std::vector<TensorCut>{{}} : std::vector<TensorCut>{{}, vocab};
  const TensorCut q{Cut::rows, s.rank * s.heads * hd, s.heads * hd};
  const TensorCut kv{Cut::rows, s.kv_first * hd, s.kv_heads * hd};
  const TensorCut o{Cut::cols, s.rank * s.heads * hd, s.heads * hd};
  const TensorCut up{Cut::rows, s.rank * s.ffn, s.ffn};
  const TensorCut down{Cut::cols, s.rank * s.ffn, s.ffn};
  return {{}, q, kv, kv, o, {}, up, up, down};
}

// Copies between a whole tensor [rows, cols] and its cut; to_local picks the direction.
void copy_cut(const TensorCut& k, const nn::TensorSlot& whole, float* whole_base, float* local, bool to_local) {
  float* w = whole_base + whole.offset;
  const std::size_t cols = static_cast<std::size_t>(whole.cols);
  auto move = [&](float* wp, float* lp, std::size_t n) {
    if (to_local)
      std::copy(wp, wp + n, lp);
    else
      std::copy(lp, lp + n, wp);
  };
  if (k.cut == Cut::whole) {
    move(w, local, whole.size());
  } else if (k.cut == Cut::rows) {
    move(w + static_cast<std::size_t>(k.first) * cols, local, static_cast<std::size_t>(k.count) * cols);
  } else {
    for (int r = 0; r < whole.rows; ++r)
      move(w + static_cast<std::size_t>(r) * cols + k.first, local + static_cast<std::size_t>(r) * k.count,
           static_cast<std::size_t>(k.count));
  }
}

void copy_unit(const nn::ModelConfig& c, const TpSlice& s, int unit, float* whole, float* local, bool to_local) {
  const nn::UnitLayout full = unit == 0                ? nn::embedding_layout(c)
                              : unit == c.n_layers + 1 ? nn::head_layout(c)
                                                       : nn::block_layout(c, unit - 1);
  const std::vector<nn::UnitLayout> mine = tp_unit_layouts(c, s);
  const std::vector<TensorCut> cuts = unit_cuts(c, s, unit);
  const nn::UnitLayout& l = mine[static_cast<std::size_t>(unit)];
  for (std::size_t t = 0; t < cuts.size(); ++t)
    copy_cut(cuts[t], full.tensors[t], whole, local + l.tensors[t].offset, to_local);
}

}  // namespace

void check_tensor_parallel(const nn::ModelConfig& c, int tp) {
  const auto need = [&](bool ok, const char* what, int value) {
    if (!ok)
      throw UsageError(
          fmt::format("--tp {} does not divide the model's {} ({}): Megatron splits them over the "
                      "tensor-parallel ranks (use a --tp that divides it)",
                      tp, what, value));
  };
  if (tp < 1) throw UsageError(fmt::format("--tp must be >= 1 (got {})", tp));
  need(c.n_heads % tp == 0, "attention heads", c.n_heads);
  need(c.ffn_dim % tp == 0, "MLP width --ffn-dim", c.ffn_dim);
  need(c.vocab_size % tp == 0, "vocabulary --vocab-size", c.vocab_size);
  if (c.n_kv_heads % tp != 0 && tp % c.n_kv_heads != 0)
    throw UsageError(
        fmt::format("--tp {} neither divides the model's {} key/value heads nor is a multiple of them "
                    "(Megatron splits them, or replicates each over tp / kv heads ranks)",
                    tp, c.n_kv_heads));
}

TpSlice tp_slice(const nn::ModelConfig& c, int tp, int rank) {
  check_tensor_parallel(c, tp);
  TpSlice s;
  s.tp = tp;
  s.rank = rank;
  s.heads = c.n_heads / tp;
  s.kv_replicated = c.n_kv_heads % tp != 0;
  s.kv_heads = s.kv_replicated ? 1 : c.n_kv_heads / tp;
  // Replicated: the key/value head this rank's query heads read (query head h reads h / (n_heads / n_kv_heads)).
  s.kv_first = s.kv_replicated ? rank * s.heads / (c.n_heads / c.n_kv_heads) : rank * s.kv_heads;
  s.kv_below = s.kv_replicated && rank > 0 && (rank - 1) * s.heads / (c.n_heads / c.n_kv_heads) == s.kv_first;
  s.ffn = c.ffn_dim / tp;
  s.vocab = c.vocab_size / tp;
  s.vocab_first = rank * s.vocab;
  return s;
}

std::vector<nn::UnitLayout> tp_unit_layouts(const nn::ModelConfig& c, const TpSlice& s) {
  std::vector<nn::UnitLayout> out = nn::unit_layouts(c);
  for (int u = 0; u < static_cast<int>(out.size()); ++u) {
    nn::UnitLayout& l = out[static_cast<std::size_t>(u)];
    const std::vector<TensorCut> cuts = unit_cuts(c, s, u);
    l.size = 0;
    for (std::size_t t = 0; t < cuts.size(); ++t) {
      nn::TensorSlot& slot = l.tensors[t];
      if (cuts[t].cut == Cut::rows) slot.rows = cuts[t].count;
      if (cuts[t].cut == Cut::cols) slot.cols = cuts[t].count;
      slot.offset = l.size;
      l.size += slot.size();
    }
  }
  return out;
}

void tp_slice_unit(const nn::ModelConfig& c, const TpSlice& s, int unit, const float* whole, float* local) {
  copy_unit(c, s, unit, const_cast<float*>(whole), local, true);  // read-only in this direction
}

void tp_place_unit(const nn::ModelConfig& c, const TpSlice& s, int unit, const float* local, float* whole) {
  copy_unit(c, s, unit, whole, const_cast<float*>(local), false);  // read-only in this direction
}

bool tp_held_below(const nn::ModelConfig& c, const TpSlice& s, int unit, int tensor) {
  if (s.rank == 0) return false;
  const std::vector<TensorCut> cuts = unit_cuts(c, s, unit);
  if (cuts[static_cast<std::size_t>(tensor)].cut == Cut::whole) return true;
  const bool kv = unit >= 1 && unit <= c.n_layers && (tensor == 2 || tensor == 3);
  return kv && s.kv_below;
}

}  // namespace awsdt::train
