// Reading sysfs attribute files the way the exporter needs: one small read per file (sysfs serves an attribute
// in a single read), and the values EFA's files hold parsed strictly, so that "N/A (no PMA)", a truncated or a
// garbled value is skipped rather than served as a wrong number.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace awsdt::exporter {

/// The file's content (at most 256 bytes), or nullopt when it cannot be opened or read (vanished, EPERM, ...).
std::optional<std::string> read_attribute(const std::filesystem::path& file);

/// A whole unsigned 64-bit decimal number with optional surrounding blanks; nullopt for anything else ("N/A",
/// "12abc", "-1", a value above 2^64-1).
std::optional<std::uint64_t> parse_counter(const std::string& text);

/// The leading number of "4: ACTIVE" (port state) or "5: LinkUp" (physical state); nullopt without one.
std::optional<unsigned> parse_state_id(const std::string& text);

/// Bytes per second from a port rate "100 Gb/sec (4X EDR)" (or "25 Gb/sec"); nullopt when not of that form.
std::optional<double> parse_rate_bytes(const std::string& text);

}  // namespace awsdt::exporter
