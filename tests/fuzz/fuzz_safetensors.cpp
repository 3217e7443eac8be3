// Hugging Face safetensors files (awsdt-fsdp --init-from): the 8-byte length, the JSON header, every tensor's
// dtype, shape and offsets against a small Llama, then its data. Bad files must be refused with a UsageError.
#include "fuzz_support.hpp"
#include "nn/model.hpp"
#include "nn/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  // vocab 16, dim 8, 1 block, 2 heads, 1 KV head, FFN 16, 16 positions, untied: the shapes of the seeds
  // (tests/fuzz/make_seeds.py).
  static nn::Model model(nn::ModelConfig{16, 8, 1, 2, 1, 16, 16, 1e-5, 10000.0, false}, 1);
  const auto path = fuzz::write_input("model.safetensors", data, size);
  fuzz::accepts([&] { nn::load_safetensors(model, path); });
  return 0;
}
