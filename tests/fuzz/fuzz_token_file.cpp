// Pre-tokenized data files (awsdt-fsdp --data, --data-dtype): the size and dtype checks, the rank's slice and
// every id against the vocabulary. The first 6 bytes choose dtype, vocabulary, micro-batch shape and rank; the
// rest is the file. Accepted data must give batches of in-vocabulary ids whose targets are the next tokens.
#include <vector>

#include "fuzz_support.hpp"
#include "nn/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  if (size < 6) return 0;
  const auto dtype = data[0] & 1 ? nn::TokenDtype::uint32 : nn::TokenDtype::uint16;
  // Signed on purpose: a negative or zero vocabulary, batch or rank must be refused, not trusted.
  const int vocab = static_cast<std::int16_t>(data[1] | (data[2] << 8));
  const int B = static_cast<std::int8_t>(data[3]) / 16, T = static_cast<std::int8_t>(data[4]) / 4;
  const int world = (data[5] & 7) - 1, rank = static_cast<std::int8_t>(data[5]) >> 3;
  const auto path = fuzz::write_input("tokens.bin", data + 6, size - 6);
  fuzz::accepts([&] {
    auto source = nn::make_file_source(path, dtype, vocab, B, T, rank, world);
    nn::TokenBatch batch;
    for (int i = 0; i < 3; ++i) {
      source->next(batch);
      if (batch.inputs.size() != static_cast<std::size_t>(B) * T || batch.targets.size() != batch.inputs.size())
        fuzz::finding("a batch of the wrong size");
      for (std::size_t k = 0; k < batch.inputs.size(); ++k) {
        if (batch.inputs[k] < 0 || batch.inputs[k] >= vocab || batch.targets[k] < 0 || batch.targets[k] >= vocab)
          fuzz::finding("an id outside the vocabulary was accepted");
        if (k + 1 < batch.inputs.size() && batch.targets[k] != batch.inputs[k + 1])
          fuzz::finding("a target is not the next input");
      }
    }
  });
  return 0;
}
