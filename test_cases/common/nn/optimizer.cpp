// AdamW update, decay segments from a unit layout, and global-norm gradient clipping.
#include "nn/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/error.hpp"

namespace awsdt::nn {

std::vector<DecaySegment> decay_segments(const UnitLayout& layout, std::size_t begin, std::size_t end) {
  end = std::min(end, layout.size);
  std::vector<DecaySegment> out;
  for (const TensorSlot& t : layout.tensors) {
    const std::size_t lo = std::max(begin, t.offset), hi = std::min(end, t.offset + t.size());
    if (lo >= hi) continue;
    const bool decay = t.cols > 1 && t.rows > 1;
    if (!out.empty() && out.back().decay == decay && out.back().offset + out.back().size == lo - begin) {
      out.back().size += hi - lo;
    } else {
      out.push_back({lo - begin, hi - lo, decay});
    }
  }
  return out;
}

AdamW::AdamW(const AdamWOptions& options, std::size_t n, std::vector<DecaySegment> segments)
    : options_(options), segments_(std::move(segments)), m_(n, 0.0f), v_(n, 0.0f) {
  for (const DecaySegment& s : segments_) AWSDT_CHECK(s.offset + s.size <= n, "AdamW: decay segment out of range");
}

void AdamW::restore(std::span<const float> m, std::span<const float> v, std::int64_t t) {
  AWSDT_CHECK(m.size() == m_.size() && v.size() == v_.size() && t >= 0, "AdamW::restore: state does not fit");
  std::copy(m.begin(), m.end(), m_.begin());
  std::copy(v.begin(), v.end(), v_.begin());
  t_ = t;
}

AdamWScalars adamw_scalars(const AdamWOptions& o, double lr, std::int64_t t) {
  AdamWScalars s;
  s.lr = static_cast<float>(lr);
  s.beta1 = static_cast<float>(o.beta1);
  s.beta2 = static_cast<float>(o.beta2);
  s.eps = static_cast<float>(o.eps);
  s.bc1 = static_cast<float>(1.0 - std::pow(o.beta1, static_cast<double>(t)));
  s.bc2 = static_cast<float>(1.0 - std::pow(o.beta2, static_cast<double>(t)));
  s.decay_factor = static_cast<float>(1.0 - lr * o.weight_decay);
  return s;
}

void adamw_update(float* p, const float* g, float* m, float* v, std::size_t n, const AdamWScalars& s, bool decay) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, bc1 = s.bc1, bc2 = s.bc2, lr = s.lr;
  const float factor = decay ? s.decay_factor : 1.0f;  // x·1 is exact: undecayed elements are unchanged
  const float clip = s.grad_scale;  // clipping (and a mean) in this pass: no pass of its own over the gradients
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i] * clip;
    p[i] *= factor;
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    const float mhat = m[i] / bc1, vhat = v[i] / bc2;
    p[i] -= lr * mhat / (std::sqrt(vhat) + eps);
  }
}

void AdamW::step(std::span<float> params, std::span<const float> grads, double lr) {
  AWSDT_CHECK(params.size() == m_.size() && grads.size() == m_.size(), "AdamW::step: span size mismatch");
  ++t_;
  const AdamWScalars s = adamw_scalars(options_, lr, t_);
  const bool decays = options_.weight_decay != 0.0;
  for (const DecaySegment& seg : segments_)
    adamw_update(params.data() + seg.offset, grads.data() + seg.offset, m_.data() + seg.offset, v_.data() + seg.offset,
                 seg.size, s, decays && seg.decay);
}

double sum_of_squares(std::span<const float> grads) {
  // Fixed chunks summed in order, so the result does not depend on the thread count.
  constexpr std::size_t kChunk = 1 << 16;
  const std::size_t chunks = (grads.size() + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks, 0.0);
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t end = std::min(grads.size(), (c + 1) * kChunk);
    double s = 0.0;
    for (std::size_t i = c * kChunk; i < end; ++i) s += static_cast<double>(grads[i]) * grads[i];
    partial[c] = s;
  }
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0.0 || !(norm > max_norm)) return 1.0;
  return max_norm / (norm + 1e-6);
}

void scale(std::span<float> grads, float factor) {
  float* g = grads.data();
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < grads.size(); ++i) g[i] *= factor;
}

double clip_grad_norm(std::span<const std::span<float>> grads, double max_norm) {
  double sq = 0.0;
  for (std::span<float> g : grads) sq += sum_of_squares(g);
  const double norm = std::sqrt(sq);
  const double coef = clip_coefficient(norm, max_norm);
  if (coef < 1.0) {
    for (std::span<float> g : grads) scale(g, static_cast<float>(coef));
  }
  return norm;
}

}  // namespace awsdt::nn
