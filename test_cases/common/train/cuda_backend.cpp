// CudaBackend: every call enqueues on the model's stream (the compute side) or on the stream it is given, so
// ordering against the communication stream goes through CUDA events, never through the host.
#include "train/cuda_backend.hpp"

#include "kernels/cuda/llama_layers.hpp"
#include "nn/cuda_model.hpp"
#include "train/tp_backend.hpp"
#include "train/tp_layout.hpp"
#include "util/error.hpp"

namespace awsdt::train {
namespace {

namespace k = kernels::cuda;

// The model of a tensor-parallel rank: its slices of every unit (the whole units on a group of one).
std::unique_ptr<nn::CudaModel> make_model(const nn::ModelConfig& config, int device, Communicator* tp, bool sp,
                                          TpSlice& slice, std::vector<nn::UnitLayout>& layouts) {
  config.validate();
  slice = tp_slice(config, tp ? tp->size() : 1, tp ? tp->rank() : 0);
  layouts = tp ? tp_unit_layouts(config, slice) : nn::unit_layouts(config);
  if (!tp || tp->size() == 1) return std::make_unique<nn::CudaModel>(config, device);
  nn::CudaTensorParallel split{
      tp,        sp,          slice.heads,       slice.kv_heads, slice.kv_first, slice.kv_replicated,
      slice.ffn, slice.vocab, slice.vocab_first, layouts};
  return std::make_unique<nn::CudaModel>(config, device, split);
}

class CudaBackend final : public UnitBackend {
 public:
  /// tp: null for whole units (awsdt-fsdp), else the tensor-parallel group whose slice this rank runs.
  CudaBackend(const nn::ModelConfig& config, int device, bool recompute, nn::AttentionKernel attention,
              Communicator* tp = nullptr, bool sp = false)
      : device_(Device::cuda(device)),
        tp_(tp),
        model_ptr_(make_model(config, device, tp, sp, slice_, layouts_)),
        model_(*model_ptr_),
        full_(nn::unit_layouts(config)),
        norm_acc_(sizeof(double), MemoryKind::Device, device_),
        compute_done_(device_) {
    model_.set_recompute(recompute);
    model_.set_attention(attention);
  }

  const Device& device() const override { return device_; }
  DataType compute_dtype() const override { return DataType::bf16; }
  const nn::ModelConfig& config() const override { return model_.config(); }
  const std::vector<nn::UnitLayout>& layouts() const override { return layouts_; }

  void bind(int unit, const void* params, float* grads) override { model_.bind(unit, params, grads); }
  void forward_begin(const nn::TokenBatch& b) override {
    model_.forward_begin(b.inputs.data(), b.targets.data(), b.B, b.T);
  }
  double forward_unit(int unit) override { return forward_unit_of(model_, unit); }
  void backward_unit(int unit) override { backward_unit_of(model_, unit); }
  std::int64_t activation_bytes() const override { return model_.activation_bytes(); }

  void compute_waits_for(const Event& e) override { model_.stream().wait(e); }
  void comm_waits_for_compute(Stream& comm) override {
    // One event serves every call: a stream waits for the record that was latest when it was told to wait.
    compute_done_.record(model_.stream());
    comm.wait(compute_done_);
  }
  void synchronize() override { model_.synchronize(); }

  void convert(void* dst, DataType dt, const void* src, DataType st, std::size_t n, Stream* on) override {
    Stream& s = stream(on);
    if (dt == st) return copy_async(dst, src, n * dtype_size(dt), s);
    AWSDT_CHECK((dt == DataType::bf16 && st == DataType::f32) || (dt == DataType::f32 && st == DataType::bf16),
                "CudaBackend::convert: only f32 <-> bf16");
    if (dt == DataType::bf16) {
      k::cast_to_bf16(static_cast<k::Bf16*>(dst), static_cast<const float*>(src), n, s.native_handle());
    } else {
      k::cast_to_f32(static_cast<float*>(dst), static_cast<const k::Bf16*>(src), n, s.native_handle());
    }
  }
  void accumulate(float* acc, const void* src, DataType st, std::size_t n, Stream* on) override {
    Stream& s = stream(on);
    if (st == DataType::bf16) {
      k::accumulate(acc, static_cast<const k::Bf16*>(src), n, s.native_handle());
    } else {
      k::accumulate(acc, static_cast<const float*>(src), n, s.native_handle());
    }
  }
  void zero(void* dst, std::size_t bytes, Stream* on) override { memset_async(dst, 0, bytes, stream(on)); }
  double sum_of_squares(const std::vector<FloatSpan>& spans) override {
    Stream& s = stream(nullptr);
    memset_async(norm_acc_.data(), 0, sizeof(double), s);
    for (const FloatSpan& x : spans) k::add_sum_of_squares(norm_acc_.as<double>(), x.data, x.n, s.native_handle());
    double sq = 0;
    copy_async(&sq, norm_acc_.data(), sizeof(double), s);
    s.synchronize();
    return sq;
  }
  void adamw(float* p, const float* g, float* m, float* v, std::size_t n, const nn::AdamWScalars& s,
             bool decay) override {
    nn::AdamWScalars h = s;
    if (!decay) h.decay_factor = 1.0f;
    k::adamw_step(p, nullptr, g, m, v, n, h, stream(nullptr).native_handle());
  }

  // Tensor parallelism (TpBackend's answers, on this rank's slice).
  Communicator* model_parallel() const override { return tp_; }
  const std::vector<nn::UnitLayout>& full_layouts() const override { return full_; }
  void slice_unit(int unit, const float* full, float* local) const override {
    if (!tp_) return UnitBackend::slice_unit(unit, full, local);
    tp_slice_unit(model_.config(), slice_, unit, full, local);
  }
  bool counted_elsewhere(int unit, std::size_t tensor) const override {
    return tp_ && tp_held_below(model_.config(), slice_, unit, static_cast<int>(tensor));
  }
  std::vector<float> consolidate(std::vector<float> local) override {
    if (!tp_) return local;
    return tp_consolidate(model_.config(), *tp_, std::move(local));
  }

 private:
  // The stream to launch on, with this backend's GPU current (kernels launch on the current device).
  Stream& stream(Stream* on) {
    device_.make_current();
    return on ? *on : model_.stream();
  }

  Device device_;
  Communicator* tp_;
  TpSlice slice_;
  std::vector<nn::UnitLayout> layouts_;  // before the model: make_model fills it
  std::unique_ptr<nn::CudaModel> model_ptr_;
  nn::CudaModel& model_;
  std::vector<nn::UnitLayout> full_;
  Buffer norm_acc_;
  Event compute_done_;
};

}  // namespace

std::unique_ptr<UnitBackend> make_cuda_backend(const nn::ModelConfig& config, int device, bool recompute,
                                               nn::AttentionKernel attention) {
  return std::make_unique<CudaBackend>(config, device, recompute, attention);
}

std::unique_ptr<UnitBackend> make_cuda_tp_backend(const nn::ModelConfig& config, Communicator& tp,
                                                  bool sequence_parallel, int device, bool recompute,
                                                  nn::AttentionKernel attention) {
  return std::make_unique<CudaBackend>(config, device, recompute, attention, &tp, sequence_parallel);
}

}  // namespace awsdt::train
