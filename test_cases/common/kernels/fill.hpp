// Fill and verify kernels for the collectives, on the device of the stream (CPU loop or CUDA kernel).
#pragma once

#include <cstddef>
#include <cstdint>

#include "device/device.hpp"
#include "kernels/pattern.hpp"

namespace awsdt::kernels {

/// buf[i] = v(rank, first_index + i) for i < count, ordered on `stream`.
void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index, Stream& stream);
/// Number of elements of buf that do not match `expect`; waits for `stream`.
std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect,
                               Stream& stream);

namespace cpu {
void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index);
std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect);
}  // namespace cpu

namespace cuda {
void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank,
                  std::size_t first_index, void* stream);
std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect,
                               void* stream);
}  // namespace cuda

}  // namespace awsdt::kernels
