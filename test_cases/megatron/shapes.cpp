// GEMM shapes of awsdt-megatron gemm (see shapes.hpp).
#include "shapes.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "nn/config.hpp"
#include "util/error.hpp"

namespace awsdt::megatron {
namespace {

using parallel::GemmDims;
using parallel::TpPattern;

int parse_positive(std::string_view text, std::string_view whole, std::string_view form) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    throw UsageError(fmt::format("'{}' is not {} (positive integers)", whole, form));
  return v;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (std::size_t a = 0;;) {
    const std::size_t b = text.find(sep, a);
    parts.push_back(text.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
    if (b == std::string_view::npos) return parts;
    a = b + 1;
  }
}

}  // namespace

std::string layer_presets() {
  std::string out;
  for (const std::string& name : nn::model_preset_names()) out += name + ", ";
  return out + "gpt3_175b";
}

namespace {
// M = seq · micro-batch is a GEMM dimension (an int), and must stay one.
void check_tokens(const LayerShape& s) {
  const std::int64_t tokens = std::int64_t(s.seq) * s.micro_batch;
  if (tokens > std::numeric_limits<int>::max())
    throw UsageError(fmt::format("--seq {} x --micro-batch {} = {} tokens: more than a GEMM dimension holds ({})",
                                 s.seq, s.micro_batch, tokens, std::numeric_limits<int>::max()));
}
}  // namespace

LayerShape layer_shape(std::string_view model, int seq, int micro_batch) {
  LayerShape s;
  s.model = std::string(model);
  s.micro_batch = micro_batch;
  if (model == "gpt3_175b") {
    s.hidden = 12288, s.heads = s.kv_heads = 96, s.head_dim = 128, s.ffn = 4 * 12288, s.gated = false;
    s.seq = seq > 0 ? seq : 2048;
    check_tokens(s);
    return s;
  }
  const std::vector<std::string> names = nn::model_preset_names();
  if (std::find(names.begin(), names.end(), model) == names.end())
    throw UsageError(fmt::format("--model {} is not one of {}", model, layer_presets()));
  const nn::ModelConfig c = nn::model_preset(model);
  s.hidden = c.dim, s.heads = c.n_heads, s.kv_heads = c.n_kv_heads, s.head_dim = c.head_dim(), s.ffn = c.ffn_dim;
  const bool llama3 = model.starts_with("llama3");
  s.seq = seq > 0 ? seq : std::min(c.max_seq_len, llama3 ? 8192 : 4096);
  check_tokens(s);
  return s;
}

std::vector<LayerGemm> layer_gemms(const LayerShape& l, int tp) {
  if (l.heads % tp != 0)
    throw UsageError(fmt::format("--tp {} does not divide the {} attention heads of {}", tp, l.heads, l.model));
  // Megatron splits key/value heads over TP when it can and replicates them when TP is a multiple of them.
  if (l.kv_heads % tp != 0 && tp % l.kv_heads != 0)
    throw UsageError(fmt::format("--tp {} neither divides nor is a multiple of the {} key/value heads of {}", tp,
                                 l.kv_heads, l.model));
  const int kv = l.kv_heads % tp == 0 ? l.kv_heads : tp;
  const int M = l.tokens(), h = l.hidden, q = l.heads * l.head_dim, qkv = q + 2 * kv * l.head_dim;
  const int up = l.gated ? 2 * l.ffn : l.ffn;
  return {{"qkv", TpPattern::ag_gemm, {M, qkv, h}},         {"proj", TpPattern::gemm_rs, {M, h, q}},
          {"fc1", TpPattern::ag_gemm, {M, up, h}},          {"fc2", TpPattern::gemm_rs, {M, h, l.ffn}},
          {"fc2_dgrad", TpPattern::ag_gemm, {M, l.ffn, h}}, {"fc1_dgrad", TpPattern::gemm_rs, {M, h, up}},
          {"proj_dgrad", TpPattern::ag_gemm, {M, q, h}},    {"qkv_dgrad", TpPattern::gemm_rs, {M, h, qkv}}};
}

GemmDims parse_shape(std::string_view text) {
  const auto parts = split(text, 'x');
  if (parts.size() != 3) throw UsageError(fmt::format("--shape '{}' is not MxNxK (e.g. 8192x8192x28672)", text));
  return {parse_positive(parts[0], text, "MxNxK"), parse_positive(parts[1], text, "MxNxK"),
          parse_positive(parts[2], text, "MxNxK")};
}

std::vector<int> parse_m_sweep(std::string_view text) {
  const auto parts = split(text, ':');
  if (parts.size() < 2 || parts.size() > 3)
    throw UsageError(fmt::format("--sweep-m '{}' is not MIN:MAX or MIN:MAX:FACTOR", text));
  const int lo = parse_positive(parts[0], text, "MIN:MAX[:FACTOR]"),
            hi = parse_positive(parts[1], text, "MIN:MAX[:FACTOR]");
  const int factor = parts.size() == 3 ? parse_positive(parts[2], text, "MIN:MAX[:FACTOR]") : 2;
  if (lo > hi || factor < 2) throw UsageError(fmt::format("--sweep-m '{}' needs MIN <= MAX and FACTOR >= 2", text));
  std::vector<int> ms;
  for (std::int64_t m = lo; m <= hi; m *= factor) ms.push_back(static_cast<int>(m));
  return ms;
}

}  // namespace awsdt::megatron
