// TpBackend (see tp_backend.hpp).
#include "train/tp_backend.hpp"

#include "nn/model.hpp"
#include "train/cpu_backend.hpp"
#include "train/tp_layout.hpp"
#include "train/tp_model.hpp"

namespace awsdt::train {
namespace {

class TpBackend final : public CpuComputeBackend {
 public:
  TpBackend(const nn::ModelConfig& config, Communicator& tp, bool sp, bool recompute, const TpCommOverlap& overlap)
      : tp_(tp), model_(config, tp, sp, overlap), full_(nn::unit_layouts(config)) {
    model_.set_recompute(recompute);
  }

  DataType compute_dtype() const override { return DataType::f32; }
  const nn::ModelConfig& config() const override { return model_.config(); }
  const std::vector<nn::UnitLayout>& layouts() const override { return model_.layouts(); }
  void bind(int unit, const void* params, float* grads) override {
    model_.bind(unit, static_cast<const float*>(params), grads);
  }
  void forward_begin(const nn::TokenBatch& b) override {
    model_.forward_begin(b.inputs.data(), b.targets.data(), b.B, b.T);
  }
  double forward_unit(int unit) override { return forward_unit_of(model_, unit); }
  void backward_unit(int unit) override { backward_unit_of(model_, unit); }
  std::int64_t activation_bytes() const override { return model_.activation_bytes(); }
  double take_model_parallel_comm_ms() override { return model_.take_comm_ms(); }

  Communicator* model_parallel() const override { return &tp_; }
  const std::vector<nn::UnitLayout>& full_layouts() const override { return full_; }
  void slice_unit(int unit, const float* full, float* local) const override {
    tp_slice_unit(model_.config(), model_.slice(), unit, full, local);
  }
  bool counted_elsewhere(int unit, std::size_t tensor) const override {
    return tp_held_below(model_.config(), model_.slice(), unit, static_cast<int>(tensor));
  }
  std::vector<float> consolidate(std::vector<float> local) override {
    return tp_consolidate(model_.config(), tp_, std::move(local));
  }

 private:
  Communicator& tp_;
  TpModel model_;
  std::vector<nn::UnitLayout> full_;
};

}  // namespace

// Every rank's slices travel to every rank of the group (one all-gather: the slices have equal sizes); the first
// places each into the whole units.
std::vector<float> tp_consolidate(const nn::ModelConfig& config, Communicator& tp, std::vector<float> local) {
  if (local.empty()) return local;
  const int size = tp.size();
  std::vector<float> all(local.size() * static_cast<std::size_t>(size));
  Stream stream(tp.device());
  if (tp.device().is_cuda()) {  // NCCL moves device memory
    const std::size_t bytes = local.size() * sizeof(float);
    Buffer mine(bytes, MemoryKind::Device, tp.device()), every(bytes * size, MemoryKind::Device, tp.device());
    copy_async(mine.data(), local.data(), bytes, stream);
    tp.all_gather(mine.data(), every.data(), local.size(), DataType::f32, stream);
    copy_async(all.data(), every.data(), every.bytes(), stream);
    stream.synchronize();
  } else {
    tp.all_gather(local.data(), all.data(), local.size(), DataType::f32, stream);
    stream.synchronize();
  }
  if (tp.rank() != 0) return {};
  const std::vector<nn::UnitLayout> full = nn::unit_layouts(config);
  std::size_t whole_size = 0;
  for (const nn::UnitLayout& l : full) whole_size += l.size;
  std::vector<float> whole(whole_size);
  for (int r = 0; r < size; ++r) {
    const TpSlice s = tp_slice(config, size, r);
    const std::vector<nn::UnitLayout> slices = tp_unit_layouts(config, s);
    const float* theirs = all.data() + static_cast<std::size_t>(r) * local.size();
    std::size_t at_local = 0, at_whole = 0;
    for (std::size_t u = 0; u < full.size(); ++u) {
      tp_place_unit(config, s, static_cast<int>(u), theirs + at_local, whole.data() + at_whole);
      at_local += slices[u].size;
      at_whole += full[u].size;
    }
  }
  return whole;
}

std::unique_ptr<UnitBackend> make_tp_backend(const nn::ModelConfig& config, Communicator& tp, bool sequence_parallel,
                                             bool recompute, const TpCommOverlap& overlap) {
  return std::make_unique<TpBackend>(config, tp, sequence_parallel, recompute, overlap);
}

}  // namespace awsdt::train
