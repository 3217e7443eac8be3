// Host reductions (see reduce.hpp). Written as plain loops the compiler vectorizes.
#include "kernels/cpu/reduce.hpp"

#include <algorithm>
#include <cstdint>

#include "util/half.hpp"

namespace awsdt::kernels::cpu {
namespace {

template <class T>
T combine(T a, T b, ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg: return T(a + b);
    case ReduceOp::prod: return T(a * b);
    case ReduceOp::min: return std::min(a, b);
    case ReduceOp::max: return std::max(a, b);
  }
  return a;
}

template <class T>
void reduce_typed(T* inout, const T* in, std::size_t n, ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg:
      for (std::size_t i = 0; i < n; ++i) inout[i] = T(inout[i] + in[i]);
      break;
    case ReduceOp::prod:
      for (std::size_t i = 0; i < n; ++i) inout[i] = T(inout[i] * in[i]);
      break;
    case ReduceOp::min:
      for (std::size_t i = 0; i < n; ++i) inout[i] = std::min(inout[i], in[i]);
      break;
    case ReduceOp::max:
      for (std::size_t i = 0; i < n; ++i) inout[i] = std::max(inout[i], in[i]);
      break;
  }
}

template <float (*ToFloat)(std::uint16_t), std::uint16_t (*FromFloat)(float)>
void reduce_16(std::uint16_t* inout, const std::uint16_t* in, std::size_t n, ReduceOp op) {
  for (std::size_t i = 0; i < n; ++i) inout[i] = FromFloat(combine(ToFloat(inout[i]), ToFloat(in[i]), op));
}

template <class T>
void divide_typed(T* data, std::size_t n, int d) {
  for (std::size_t i = 0; i < n; ++i) data[i] = T(data[i] / T(d));
}

template <float (*ToFloat)(std::uint16_t), std::uint16_t (*FromFloat)(float)>
void divide_16(std::uint16_t* data, std::size_t n, int d) {
  for (std::size_t i = 0; i < n; ++i) data[i] = FromFloat(ToFloat(data[i]) / float(d));
}

}  // namespace

void reduce_inplace(void* inout, const void* in, std::size_t n, DataType type, ReduceOp op) {
  switch (type) {
    case DataType::f32: return reduce_typed(static_cast<float*>(inout), static_cast<const float*>(in), n, op);
    case DataType::f64: return reduce_typed(static_cast<double*>(inout), static_cast<const double*>(in), n, op);
    case DataType::f16:
      return reduce_16<half_to_float, float_to_half>(static_cast<std::uint16_t*>(inout),
                                                     static_cast<const std::uint16_t*>(in), n, op);
    case DataType::bf16:
      return reduce_16<bf16_to_float, float_to_bf16>(static_cast<std::uint16_t*>(inout),
                                                     static_cast<const std::uint16_t*>(in), n, op);
    case DataType::i8:
      return reduce_typed(static_cast<std::int8_t*>(inout), static_cast<const std::int8_t*>(in), n, op);
    case DataType::u8:
      return reduce_typed(static_cast<std::uint8_t*>(inout), static_cast<const std::uint8_t*>(in), n, op);
    case DataType::i32:
      return reduce_typed(static_cast<std::int32_t*>(inout), static_cast<const std::int32_t*>(in), n, op);
    case DataType::u32:
      return reduce_typed(static_cast<std::uint32_t*>(inout), static_cast<const std::uint32_t*>(in), n, op);
    case DataType::i64:
      return reduce_typed(static_cast<std::int64_t*>(inout), static_cast<const std::int64_t*>(in), n, op);
    case DataType::u64:
      return reduce_typed(static_cast<std::uint64_t*>(inout), static_cast<const std::uint64_t*>(in), n, op);
  }
}

void divide_inplace(void* data, std::size_t n, DataType type, int d) {
  switch (type) {
    case DataType::f32: return divide_typed(static_cast<float*>(data), n, d);
    case DataType::f64: return divide_typed(static_cast<double*>(data), n, d);
    case DataType::f16: return divide_16<half_to_float, float_to_half>(static_cast<std::uint16_t*>(data), n, d);
    case DataType::bf16: return divide_16<bf16_to_float, float_to_bf16>(static_cast<std::uint16_t*>(data), n, d);
    case DataType::i8: return divide_typed(static_cast<std::int8_t*>(data), n, d);
    case DataType::u8: return divide_typed(static_cast<std::uint8_t*>(data), n, d);
    case DataType::i32: return divide_typed(static_cast<std::int32_t*>(data), n, d);
    case DataType::u32: return divide_typed(static_cast<std::uint32_t*>(data), n, d);
    case DataType::i64: return divide_typed(static_cast<std::int64_t*>(data), n, d);
    case DataType::u64: return divide_typed(static_cast<std::uint64_t*>(data), n, d);
  }
}

}  // namespace awsdt::kernels::cpu
