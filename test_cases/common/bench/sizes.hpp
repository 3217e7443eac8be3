// Byte sizes as users type them (nccl-tests style: 8, 64K, 128M, 16G; powers of 1024) and as tables show them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace awsdt {

/// Parses "N", "NK", "NM", "NG" or "NT" (case-insensitive, optional trailing B); throws UsageError naming
/// `what` and the accepted forms.
std::uint64_t parse_bytes(std::string_view text, std::string_view what = "size");
/// The sizes of a -b/-e sweep: from `min` to `max` inclusive, multiplied by `factor` when it is above 1, else
/// advanced by `step` (a zero step, or an overflow, ends the sweep).
std::vector<std::uint64_t> size_sweep(std::uint64_t min, std::uint64_t max, std::uint64_t factor, std::uint64_t step);
/// Throws UsageError, naming nccl-tests' flags (-b, -e, -f, -i), for a sweep that is empty or never advances.
void check_size_sweep(std::uint64_t min, std::uint64_t max, std::uint64_t factor, std::uint64_t step);
/// 1536 -> "1.5 KiB".
std::string format_bytes(double bytes);

}  // namespace awsdt
