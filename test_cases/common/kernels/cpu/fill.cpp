// CPU fill/verify and the device dispatch (see kernels/fill.hpp).
#include "kernels/fill.hpp"

namespace awsdt::kernels {

Pattern pattern_for(DataType type, bool reduction, ReduceOp op, std::uint32_t seed) {
  Pattern p;
  p.seed = seed;
  if (reduction && (op == ReduceOp::sum || op == ReduceOp::avg)) return p.modulus = 4, p.minimum = 0, p;
  if (reduction && op == ReduceOp::prod) return p.modulus = 2, p.minimum = 1, p;
  // min, max and data movement: as wide as the type holds exactly.
  switch (type) {
    case DataType::i8: p.modulus = 127; break;
    case DataType::u8: p.modulus = 255; break;
    case DataType::bf16: p.modulus = 256; break;
    case DataType::f16: p.modulus = 2048; break;
    default: p.modulus = 1u << 20; break;
  }
  return p;
}

namespace cpu {

void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index) {
  for (std::size_t i = 0; i < count; ++i) store_element(buf, i, type, pattern_value(pattern, rank, first_index + i));
}

std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect) {
  std::uint64_t wrong = 0;
  for (std::size_t i = 0; i < count; ++i) wrong += element_matches(buf, i, type, expect) ? 0 : 1;
  return wrong;
}

}  // namespace cpu

void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index, Stream& stream) {
  if (stream.device().is_cuda())
    return cuda::fill_pattern(buf, count, type, pattern, rank, first_index, stream.native_handle());
  stream.enqueue([=] { cpu::fill_pattern(buf, count, type, pattern, rank, first_index); });
}

std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect,
                               Stream& stream) {
  if (stream.device().is_cuda()) return cuda::count_mismatches(buf, count, type, expect, stream.native_handle());
  stream.synchronize();
  return cpu::count_mismatches(buf, count, type, expect);
}

}  // namespace awsdt::kernels
