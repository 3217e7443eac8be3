// Tests of the fp32 Model on the `tiny` preset: loss and every gradient against an independent float64
// reference written here with plain per-token loops (it calls none of the engine's layer functions; its own
// backward is itself checked by finite differences), bitwise determinism for a seed, and gradient accumulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "nn/config.hpp"
#include "nn/model.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

using Vec = std::vector<double>;

// ---------------------------------------------------------------------------------------------------------------
// The float64 reference decoder.

struct RefLayer {
  Vec attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down;
};

struct RefParams {
  Vec embed;                     // [V,C]
  std::vector<RefLayer> layers;  // per block
  Vec final_norm;                // [C]
  Vec lm_head;                   // [V,C]; empty when tied

  // Every tensor with its Hugging Face name, for walking parameters and gradients together.
  std::vector<std::pair<std::string, Vec*>> tensors() {
    std::vector<std::pair<std::string, Vec*>> out{{"model.embed_tokens.weight", &embed}};
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      RefLayer& L = layers[l];
      out.insert(out.end(), {{p + "input_layernorm.weight", &L.attn_norm},
                             {p + "self_attn.q_proj.weight", &L.wq},
                             {p + "self_attn.k_proj.weight", &L.wk},
                             {p + "self_attn.v_proj.weight", &L.wv},
                             {p + "self_attn.o_proj.weight", &L.wo},
                             {p + "post_attention_layernorm.weight", &L.mlp_norm},
                             {p + "mlp.gate_proj.weight", &L.w_gate},
                             {p + "mlp.up_proj.weight", &L.w_up},
                             {p + "mlp.down_proj.weight", &L.w_down}});
    }
    out.emplace_back("model.norm.weight", &final_norm);
    if (!lm_head.empty()) out.emplace_back("lm_head.weight", &lm_head);
    return out;
  }
};

// out[r] = Σ_c W[r,c] x[c] for W [rows, cols].
void matvec(double* out, const double* W, const double* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    double s = 0;
    for (int c = 0; c < cols; ++c) s += W[static_cast<std::size_t>(r) * cols + c] * x[c];
    out[r] = s;
  }
}

// dW += dout ⊗ x and dx += Wᵀ dout.
void matvec_backward(double* dW, double* dx, const double* dout, const double* W, const double* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      dW[static_cast<std::size_t>(r) * cols + c] += dout[r] * x[c];
      dx[c] += W[static_cast<std::size_t>(r) * cols + c] * dout[r];
    }
  }
}

// out = x / rms(x) · w; returns 1/rms.
double rms_norm(double* out, const double* x, const double* w, int C, double eps) {
  double ss = 0;
  for (int c = 0; c < C; ++c) ss += x[c] * x[c];
  const double r = 1.0 / std::sqrt(ss / C + eps);
  for (int c = 0; c < C; ++c) out[c] = x[c] * r * w[c];
  return r;
}

void rms_norm_backward(double* dx, double* dw, const double* dout, const double* x, const double* w, double r, int C) {
  double m = 0;
  for (int c = 0; c < C; ++c) m += dout[c] * w[c] * x[c] * r;
  m /= C;
  for (int c = 0; c < C; ++c) {
    dw[c] += dout[c] * x[c] * r;
    dx[c] += r * dout[c] * w[c] - r * (x[c] * r) * m;
  }
}

// Rotates each of n_heads head vectors of v (rotate-half pairs i, i + hd/2) by sign · pos · theta^(-2i/hd).
void rotate(double* v, int n_heads, int hd, int pos, double theta, double sign) {
  for (int h = 0; h < n_heads; ++h) {
    double* x = v + h * hd;
    for (int i = 0; i < hd / 2; ++i) {
      const double angle = sign * pos * std::pow(theta, -2.0 * i / hd);
      const double a = x[i], b = x[i + hd / 2];
      x[i] = a * std::cos(angle) - b * std::sin(angle);
      x[i + hd / 2] = b * std::cos(angle) + a * std::sin(angle);
    }
  }
}

class RefModel {
 public:
  RefModel(const ModelConfig& c, RefParams p) : c_(c), p_(std::move(p)) {}

  RefParams& params() { return p_; }

  double forward(const std::vector<std::int32_t>& tokens, const std::vector<std::int32_t>& targets, int B, int T) {
    B_ = B, T_ = T, N_ = B * T, tokens_ = tokens, targets_ = targets;
    const int C = c_.dim, KV = c_.kv_dim(), F = c_.ffn_dim, V = c_.vocab_size, hd = c_.head_dim();
    const int NH = c_.n_heads, group = c_.n_heads / c_.n_kv_heads;
    acts_.assign(c_.n_layers, {});
    x_.assign(c_.n_layers + 1, Vec(N_ * C));
    for (int n = 0; n < N_; ++n)
      for (int i = 0; i < C; ++i) x_[0][n * C + i] = p_.embed[tokens[n] * C + i];
    for (int l = 0; l < c_.n_layers; ++l) {
      const RefLayer& W = p_.layers[l];
      Acts& a = acts_[l];
      a.resize(N_, C, KV, F, B * NH * T * T);
      const Vec& x = x_[l];
      for (int n = 0; n < N_; ++n) {
        a.r1[n] = rms_norm(&a.ln1[n * C], &x[n * C], W.attn_norm.data(), C, c_.norm_eps);
        matvec(&a.q[n * C], W.wq.data(), &a.ln1[n * C], C, C);
        matvec(&a.k[n * KV], W.wk.data(), &a.ln1[n * C], KV, C);
        matvec(&a.v[n * KV], W.wv.data(), &a.ln1[n * C], KV, C);
        rotate(&a.q[n * C], NH, hd, n % T, c_.rope_theta, 1.0);
        rotate(&a.k[n * KV], c_.n_kv_heads, hd, n % T, c_.rope_theta, 1.0);
      }
      for (int b = 0; b < B; ++b)
        for (int h = 0; h < NH; ++h)
          for (int t = 0; t < T; ++t) {
            const double* q = &a.q[(b * T + t) * C + h * hd];
            double* p = &a.p[((b * NH + h) * T + t) * T];
            double mx = -1e300;
            for (int t2 = 0; t2 <= t; ++t2) {
              const double* k = &a.k[(b * T + t2) * KV + (h / group) * hd];
              double s = 0;
              for (int d = 0; d < hd; ++d) s += q[d] * k[d];
              p[t2] = s / std::sqrt(double(hd));
              mx = std::max(mx, p[t2]);
            }
            double sum = 0;
            for (int t2 = 0; t2 <= t; ++t2) sum += (p[t2] = std::exp(p[t2] - mx));
            double* y = &a.y[(b * T + t) * C + h * hd];
            for (int d = 0; d < hd; ++d) y[d] = 0;
            for (int t2 = 0; t2 <= t; ++t2) {
              p[t2] /= sum;
              const double* v = &a.v[(b * T + t2) * KV + (h / group) * hd];
              for (int d = 0; d < hd; ++d) y[d] += p[t2] * v[d];
            }
          }
      Vec o(C), m(C);
      for (int n = 0; n < N_; ++n) {
        matvec(o.data(), W.wo.data(), &a.y[n * C], C, C);
        for (int i = 0; i < C; ++i) a.res2[n * C + i] = x[n * C + i] + o[i];
        a.r2[n] = rms_norm(&a.ln2[n * C], &a.res2[n * C], W.mlp_norm.data(), C, c_.norm_eps);
        matvec(&a.g[n * F], W.w_gate.data(), &a.ln2[n * C], F, C);
        matvec(&a.u[n * F], W.w_up.data(), &a.ln2[n * C], F, C);
        for (int i = 0; i < F; ++i) {
          const double g = a.g[n * F + i];
          a.h[n * F + i] = g / (1 + std::exp(-g)) * a.u[n * F + i];
        }
        matvec(m.data(), W.w_down.data(), &a.h[n * F], C, F);
        for (int i = 0; i < C; ++i) x_[l + 1][n * C + i] = a.res2[n * C + i] + m[i];
      }
    }
    const Vec& head = p_.lm_head.empty() ? p_.embed : p_.lm_head;
    lnf_.assign(N_ * C, 0);
    rf_.assign(N_, 0);
    probs_.assign(N_ * V, 0);
    double loss = 0;
    int counted = 0;
    for (int n = 0; n < N_; ++n) {
      rf_[n] = rms_norm(&lnf_[n * C], &x_[c_.n_layers][n * C], p_.final_norm.data(), C, c_.norm_eps);
      double* z = &probs_[n * V];
      matvec(z, head.data(), &lnf_[n * C], V, C);
      const double mx = *std::max_element(z, z + V);
      double sum = 0;
      for (int i = 0; i < V; ++i) sum += std::exp(z[i] - mx);
      if (targets[n] >= 0) loss += std::log(sum) + mx - z[targets[n]], ++counted;
      for (int i = 0; i < V; ++i) z[i] = std::exp(z[i] - mx) / sum;
    }
    counted_ = counted;
    return loss / counted;
  }

  // Gradients of the last forward's loss, laid out as RefParams.
  RefParams backward() {
    const int C = c_.dim, KV = c_.kv_dim(), F = c_.ffn_dim, V = c_.vocab_size, hd = c_.head_dim();
    const int NH = c_.n_heads, group = c_.n_heads / c_.n_kv_heads, B = B_, T = T_;
    RefParams g = p_;
    for (auto& [name, t] : g.tensors()) std::fill(t->begin(), t->end(), 0.0);
    const bool tied = p_.lm_head.empty();
    const Vec& head = tied ? p_.embed : p_.lm_head;
    Vec& dhead = tied ? g.embed : g.lm_head;
    Vec dx(N_ * C, 0.0), dz(V), dlnf(C);
    for (int n = 0; n < N_; ++n) {
      if (targets_[n] < 0) continue;
      for (int i = 0; i < V; ++i) dz[i] = (probs_[n * V + i] - (i == targets_[n] ? 1.0 : 0.0)) / counted_;
      std::fill(dlnf.begin(), dlnf.end(), 0.0);
      matvec_backward(dhead.data(), dlnf.data(), dz.data(), head.data(), &lnf_[n * C], V, C);
      rms_norm_backward(&dx[n * C], g.final_norm.data(), dlnf.data(), &x_[c_.n_layers][n * C], p_.final_norm.data(),
                        rf_[n], C);
    }
    for (int l = c_.n_layers - 1; l >= 0; --l) {
      const RefLayer& W = p_.layers[l];
      RefLayer& G = g.layers[l];
      const Acts& a = acts_[l];
      // MLP: x_next = res2 + down(h); the residual passes dx through to dres2.
      Vec dres2 = dx, dh(F), dg(F), du(F), dln(C);
      for (int n = 0; n < N_; ++n) {
        std::fill(dh.begin(), dh.end(), 0.0);
        matvec_backward(G.w_down.data(), dh.data(), &dx[n * C], W.w_down.data(), &a.h[n * F], C, F);
        for (int i = 0; i < F; ++i) {
          const double gt = a.g[n * F + i], s = 1 / (1 + std::exp(-gt));
          du[i] = dh[i] * gt * s;
          dg[i] = dh[i] * a.u[n * F + i] * (s + gt * s * (1 - s));
        }
        std::fill(dln.begin(), dln.end(), 0.0);
        matvec_backward(G.w_gate.data(), dln.data(), dg.data(), W.w_gate.data(), &a.ln2[n * C], F, C);
        matvec_backward(G.w_up.data(), dln.data(), du.data(), W.w_up.data(), &a.ln2[n * C], F, C);
        rms_norm_backward(&dres2[n * C], G.mlp_norm.data(), dln.data(), &a.res2[n * C], W.mlp_norm.data(), a.r2[n], C);
      }
      // Attention: res2 = x + o_proj(y).
      Vec dxin = dres2, dy(N_ * C, 0.0), dq(N_ * C, 0.0), dk(N_ * KV, 0.0), dv(N_ * KV, 0.0);
      for (int n = 0; n < N_; ++n)
        matvec_backward(G.wo.data(), &dy[n * C], &dres2[n * C], W.wo.data(), &a.y[n * C], C, C);
      for (int b = 0; b < B; ++b)
        for (int h = 0; h < NH; ++h)
          for (int t = 0; t < T; ++t) {
            const double* p = &a.p[((b * NH + h) * T + t) * T];
            const double* dyt = &dy[(b * T + t) * C + h * hd];
            Vec dp(t + 1);
            double dot = 0;
            for (int t2 = 0; t2 <= t; ++t2) {
              const std::size_t kv = (b * T + t2) * KV + (h / group) * hd;
              double s = 0;
              for (int d = 0; d < hd; ++d) s += dyt[d] * a.v[kv + d], dv[kv + d] += p[t2] * dyt[d];
              dp[t2] = s;
              dot += p[t2] * s;
            }
            for (int t2 = 0; t2 <= t; ++t2) {
              const double ds = p[t2] * (dp[t2] - dot) / std::sqrt(double(hd));
              const std::size_t kv = (b * T + t2) * KV + (h / group) * hd, qi = (b * T + t) * C + h * hd;
              for (int d = 0; d < hd; ++d) dq[qi + d] += ds * a.k[kv + d], dk[kv + d] += ds * a.q[qi + d];
            }
          }
      for (int n = 0; n < N_; ++n) {
        rotate(&dq[n * C], NH, hd, n % T, c_.rope_theta, -1.0);
        rotate(&dk[n * KV], c_.n_kv_heads, hd, n % T, c_.rope_theta, -1.0);
        std::fill(dln.begin(), dln.end(), 0.0);
        matvec_backward(G.wq.data(), dln.data(), &dq[n * C], W.wq.data(), &a.ln1[n * C], C, C);
        matvec_backward(G.wk.data(), dln.data(), &dk[n * KV], W.wk.data(), &a.ln1[n * C], KV, C);
        matvec_backward(G.wv.data(), dln.data(), &dv[n * KV], W.wv.data(), &a.ln1[n * C], KV, C);
        rms_norm_backward(&dxin[n * C], G.attn_norm.data(), dln.data(), &x_[l][n * C], W.attn_norm.data(), a.r1[n], C);
      }
      dx = dxin;
    }
    for (int n = 0; n < N_; ++n)
      for (int i = 0; i < C; ++i) g.embed[tokens_[n] * C + i] += dx[n * C + i];
    return g;
  }

 private:
  struct Acts {
    Vec r1, ln1, q, k, v, p, y, res2, r2, ln2, g, u, h;
    void resize(int N, int C, int KV, int F, int P) {
      for (Vec* v_ : {&ln1, &q, &y, &res2, &ln2}) v_->assign(N * C, 0);
      for (Vec* v_ : {&k, &v}) v_->assign(N * KV, 0);
      for (Vec* v_ : {&g, &u, &h}) v_->assign(N * F, 0);
      r1.assign(N, 0), r2.assign(N, 0), p.assign(P, 0);
    }
  };
  ModelConfig c_;
  RefParams p_;
  int B_ = 0, T_ = 0, N_ = 0, counted_ = 0;
  std::vector<std::int32_t> tokens_, targets_;
  std::vector<Acts> acts_;
  Vec lnf_, rf_, probs_;
  std::vector<Vec> x_;
};

// ---------------------------------------------------------------------------------------------------------------
// Bridging the engine and the reference by tensor name.

// The engine tensor called name: its unit and slot.
std::pair<ParamUnit*, const TensorSlot*> find_tensor(Model& model, const std::string& name) {
  for (ParamUnit& u : model.units())
    for (const TensorSlot& t : u.layout.tensors)
      if (t.name == name) return {&u, &t};
  ADD_FAILURE() << "no tensor " << name;
  return {nullptr, nullptr};
}

RefParams reference_params(Model& model) {
  const ModelConfig& c = model.config();
  RefParams p;
  p.layers.resize(c.n_layers);
  if (!c.tied_embeddings) p.lm_head.resize(1);  // marks "untied" before tensors() is walked
  for (auto& [name, v] : p.tensors()) {
    auto [unit, slot] = find_tensor(model, name);
    v->assign(unit->params.begin() + slot->offset, unit->params.begin() + slot->offset + slot->size());
  }
  return p;
}

// Makes the tiny model's function less trivial than at init (whose logits are nearly uniform): matrices ×5
// (std 0.1), norm weights 1 ± 0.3.
void perturb(Model& model, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  for (int l = 0; l < model.config().n_layers; ++l) {
    ParamUnit& unit = model.block(l);
    for (const TensorSlot& t : unit.layout.tensors)
      for (std::size_t i = t.offset; i < t.offset + t.size(); ++i)
        unit.params[i] = t.cols == 1 ? 1.0f + u(rng) : 5.0f * unit.params[i];
  }
  for (float& w : model.embedding().params) w *= 5.0f;
  for (const TensorSlot& t : model.head().layout.tensors)
    for (std::size_t i = t.offset; i < t.offset + t.size(); ++i)
      model.head().params[i] = t.cols == 1 ? 1.0f + u(rng) : 5.0f * model.head().params[i];
}

struct Batch {
  int B = 2, T = 24;
  std::vector<std::int32_t> tokens, targets;
};

Batch make_batch(int vocab, std::uint64_t seed) {
  Batch b;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> tok(0, vocab - 1);
  for (int i = 0; i < b.B * b.T; ++i) b.tokens.push_back(tok(rng));
  for (int i = 0; i < b.B * b.T; ++i) b.targets.push_back(i % b.T == b.T - 1 ? tok(rng) : b.tokens[i + 1]);
  b.targets[5] = -100;  // an ignored position
  return b;
}

// max |engine − ref| / max |ref| over one tensor.
double rel_error(const float* engine, const Vec& ref) {
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(engine[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return err / scale;
}

void compare_with_reference(ModelConfig config) {
  Model model(config, 20240607);
  perturb(model, 7);
  Batch batch = make_batch(config.vocab_size, 11);
  RefModel ref(config, reference_params(model));

  const double ref_loss = ref.forward(batch.tokens, batch.targets, batch.B, batch.T);
  const float loss = model.forward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T);
  EXPECT_NEAR(loss, ref_loss, 1e-4 * std::abs(ref_loss));
  EXPECT_GT(std::abs(ref_loss - std::log(double(config.vocab_size))), 0.1) << "loss too close to uniform";

  model.backward();
  RefParams grads = ref.backward();
  for (auto& [name, g] : grads.tensors()) {
    auto [unit, slot] = find_tensor(model, name);
    EXPECT_LT(rel_error(unit->grads.data() + slot->offset, *g), 1e-4) << name;
  }

  // The reference's own backward against central differences of its forward, a few elements per tensor.
  RefParams& p = ref.params();
  std::mt19937_64 rng(3);
  auto grad_tensors = grads.tensors();
  auto param_tensors = p.tensors();
  for (std::size_t t = 0; t < param_tensors.size(); ++t) {
    Vec& w = *param_tensors[t].second;
    const Vec& g = *grad_tensors[t].second;
    double scale = 0;
    for (double x : g) scale = std::max(scale, std::abs(x));
    for (int s = 0; s < 3; ++s) {
      std::size_t i = rng() % w.size();
      if (param_tensors[t].first == "model.embed_tokens.weight") i = batch.tokens[s] * config.dim + s;  // used rows
      const double saved = w[i], eps = 1e-5;
      w[i] = saved + eps;
      const double plus = ref.forward(batch.tokens, batch.targets, batch.B, batch.T);
      w[i] = saved - eps;
      const double minus = ref.forward(batch.tokens, batch.targets, batch.B, batch.T);
      w[i] = saved;
      EXPECT_NEAR((plus - minus) / (2 * eps), g[i], 1e-6 * scale) << param_tensors[t].first << "[" << i << "]";
    }
  }
}

TEST(NnModel, TinyMatchesFloat64Reference) { compare_with_reference(model_preset("tiny")); }

TEST(NnModel, UntiedTinyMatchesFloat64Reference) {
  ModelConfig c = model_preset("tiny");
  c.tied_embeddings = false;
  c.rope_theta = 500000.0;
  compare_with_reference(c);
}

TEST(NnModel, SameSeedIsBitwiseIdentical) {
  ModelConfig c = model_preset("tiny");
  Batch batch = make_batch(c.vocab_size, 5);
  Model a(c, 99), b(c, 99), other(c, 100);
  const float la = a.forward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T);
  const float lb = b.forward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T);
  const float la2 = a.forward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T);
  EXPECT_EQ(std::memcmp(&la, &lb, sizeof la), 0);
  EXPECT_EQ(std::memcmp(&la, &la2, sizeof la), 0);
  EXPECT_NE(la, other.forward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T));
  a.backward();
  b.backward();
  for (std::size_t u = 0; u < a.units().size(); ++u) {
    const auto& ga = a.units()[u].grads;
    const auto& gb = b.units()[u].grads;
    EXPECT_EQ(std::memcmp(ga.data(), gb.data(), ga.size() * sizeof(float)), 0) << a.units()[u].layout.name;
  }
}

TEST(NnModel, GradientsAccumulateUntilZeroed) {
  ModelConfig c = model_preset("tiny");
  Batch batch = make_batch(c.vocab_size, 6);
  Model m(c, 1);
  m.forward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T);
  m.backward();
  const std::vector<float> once = m.block(1).grads;
  m.backward();
  for (std::size_t i = 0; i < once.size(); i += 97) EXPECT_FLOAT_EQ(m.block(1).grads[i], 2 * once[i]);
  m.zero_grad();
  for (float g : m.block(1).grads) ASSERT_EQ(g, 0.0f);
}

TEST(NnModel, UnitsAreOneBufferEach) {
  ModelConfig c = model_preset("tiny");
  Model m(c, 1);
  ASSERT_EQ(m.units().size(), static_cast<std::size_t>(c.n_layers + 2));
  std::int64_t total = 0;
  for (const ParamUnit& u : m.units()) {
    EXPECT_EQ(u.params.size(), u.layout.size);
    EXPECT_EQ(u.grads.size(), u.layout.size);
    total += static_cast<std::int64_t>(u.params.size());
  }
  EXPECT_EQ(total, c.parameter_count());
}

TEST(NnModel, RejectsBadInput) {
  ModelConfig c = model_preset("tiny");
  Model m(c, 1);
  std::vector<std::int32_t> tokens(2 * 65, 0);
  EXPECT_THROW(m.forward(tokens.data(), tokens.data(), 2, 65), UsageError);  // T > max_seq_len
  EXPECT_THROW(m.backward(), Error);                                         // no forward yet
  tokens[3] = 512;
  EXPECT_THROW(m.forward(tokens.data(), nullptr, 1, 8), Error);  // token outside the vocabulary
}

}  // namespace
}  // namespace awsdt::nn
