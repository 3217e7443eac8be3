// Safetensors save and load for the Model (see safetensors.hpp). Loading validates the whole header against
// the model's layouts before any parameter is touched, then reads each tensor straight into its unit buffer.
#include "nn/safetensors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/half.hpp"

namespace awsdt::nn {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit

// Where a parameter tensor lives in the model.
struct Target {
  std::size_t unit = 0;
  const TensorSlot* slot = nullptr;
};

// The shape a tensor must have in the file: [rows] for a vector (cols == 1), [rows, cols] otherwise.
std::vector<std::uint64_t> expected_shape(const TensorSlot& slot) {
  if (slot.cols == 1) return {static_cast<std::uint64_t>(slot.rows)};
  return {static_cast<std::uint64_t>(slot.rows), static_cast<std::uint64_t>(slot.cols)};
}

std::string shape_text(const std::vector<std::uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// ---------------------------------------------------------------------------------------------------------------
// Saving.

// Writes all of data to fd; false on an error (errno set).
bool write_all(int fd, const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes) {
    ssize_t k = ::write(fd, p, bytes);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return false;
    p += k;
    bytes -= static_cast<std::size_t>(k);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Loading.

// One tensor entry of a parsed header, validated against its target.
struct Entry {
  std::string name;
  std::string dtype;  // "F32" or "BF16"
  std::uint64_t begin = 0, end = 0;
  const Target* target = nullptr;  // nullptr: ignored (inv_freq) or a tied model's lm_head
};

// Reads and checks safetensors files, every error one line naming the file.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw UsageError(fmt::format("safetensors file '{}': {}", path_, what));
  }

  // Opens the file and parses the header; returns the header JSON object.
  nlohmann::json open() {
    std::error_code ec;
    const std::uint64_t file_size = std::filesystem::file_size(path_, ec);
    if (ec) fail(fmt::format("cannot read: {}", ec.message()));
    in_.open(path_, std::ios::binary);
    if (!in_) fail(fmt::format("cannot read: {}", std::strerror(errno)));
    if (file_size < 8) fail(fmt::format("truncated: {} bytes, expected at least an 8-byte header length", file_size));
    unsigned char len_bytes[8];
    in_.read(reinterpret_cast<char*>(len_bytes), 8);
    if (!in_) fail("cannot read the header length");
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    if (header_len > kMaxHeaderBytes) {
      fail(fmt::format("not a safetensors file: header length {} exceeds {} bytes", header_len, kMaxHeaderBytes));
    }
    if (header_len > file_size - 8) {
      fail(fmt::format("truncated: header length {} but only {} bytes follow it", header_len, file_size - 8));
    }
    std::string header(header_len, '\0');
    in_.read(header.data(), static_cast<std::streamsize>(header_len));
    if (!in_) fail("cannot read the header");
    nlohmann::json json = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      fail(fmt::format("not a safetensors file: the {}-byte header is not a JSON object", header_len));
    }
    data_start_ = 8 + header_len;
    data_size_ = file_size - data_start_;
    return json;
  }

  // Parses and checks one header entry's dtype, shape and offsets against the expected shape (if known).
  Entry entry(const std::string& name, const nlohmann::json& value, const std::vector<std::uint64_t>* shape) const {
    const auto bad = [&](const std::string& what) { fail(fmt::format("tensor '{}': {}", name, what)); };
    if (!value.is_object()) bad("header entry is not a JSON object");
    const auto dtype = value.find("dtype");
    const auto shp = value.find("shape");
    const auto offs = value.find("data_offsets");
    if (dtype == value.end() || !dtype->is_string()) bad("header entry has no string 'dtype'");
    if (shp == value.end() || !shp->is_array()) bad("header entry has no array 'shape'");
    if (offs == value.end() || !offs->is_array() || offs->size() != 2 || !(*offs)[0].is_number_unsigned() ||
        !(*offs)[1].is_number_unsigned()) {
      bad("header entry has no 'data_offsets' [begin, end]");
    }
    Entry e;
    e.name = name;
    e.dtype = dtype->get<std::string>();
    std::vector<std::uint64_t> found;
    std::uint64_t elements = 1;
    for (const auto& d : *shp) {
      if (!d.is_number_unsigned()) bad(fmt::format("shape {} is not a list of non-negative integers", shp->dump()));
      found.push_back(d.get<std::uint64_t>());
      elements *= found.back();
    }
    if (e.dtype != "F32" && e.dtype != "BF16") {
      bad(fmt::format("found dtype {}, expected F32 or BF16", e.dtype));
    }
    if (shape && found != *shape) {
      bad(fmt::format("found shape {}, expected {}", shape_text(found), shape_text(*shape)));
    }
    e.begin = (*offs)[0].get<std::uint64_t>();
    e.end = (*offs)[1].get<std::uint64_t>();
    const std::uint64_t bytes = elements * (e.dtype == "F32" ? 4 : 2);
    if (e.end < e.begin || e.end - e.begin != bytes) {
      bad(fmt::format("data_offsets [{}, {}] span {} bytes, expected {} for {} {}", e.begin, e.end,
                      e.end < e.begin ? 0 : e.end - e.begin, bytes, e.dtype, shape_text(found)));
    }
    if (e.end > data_size_) {
      bad(fmt::format("truncated: data ends at byte {} but the file holds only {} data bytes", e.end, data_size_));
    }
    return e;
  }

  // Reads entry e (elements of it) into out as fp32.
  void read(const Entry& e, float* out, std::size_t elements) {
    in_.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
    if (e.dtype == "F32") {
      in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(elements * 4));
    } else {
      std::vector<std::uint16_t> raw(elements);
      in_.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(elements * 2));
      for (std::size_t i = 0; i < elements; ++i) out[i] = bf16_to_float(raw[i]);
    }
    if (!in_) fail(fmt::format("tensor '{}': cannot read its data", e.name));
  }

 private:
  std::string path_;
  std::ifstream in_;
  std::uint64_t data_start_ = 0, data_size_ = 0;
};

}  // namespace

void save_safetensors(const Model& model, const std::string& path, const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  meta["format"] = "pt";
  header["__metadata__"] = meta;
  std::uint64_t offset = 0;
  for (const ParamUnit& unit : model.units()) {
    for (const TensorSlot& slot : unit.layout.tensors) {
      const std::uint64_t bytes = slot.size() * sizeof(float);
      header[slot.name] = {
          {"dtype", "F32"}, {"shape", expected_shape(slot)}, {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
    }
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so that the data starts 8-byte aligned, as the reference does
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((std::uint64_t(text.size()) >> (8 * i)) & 0xff);

  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  bool ok = write_all(fd, len_bytes, 8) && write_all(fd, text.data(), text.size());
  for (const ParamUnit& unit : model.units()) {
    for (const TensorSlot& slot : unit.layout.tensors) {
      ok = ok && write_all(fd, unit.params.data() + slot.offset, slot.size() * sizeof(float));
    }
  }
  ok = ok && ::fsync(fd) == 0;
  int err = ok ? 0 : errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (ok) return;
  ::unlink(tmp.c_str());
  throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
}

void load_safetensors(Model& model, const std::string& path) {
  const ModelConfig& config = model.config();
  std::unordered_map<std::string, Target> targets;
  for (std::size_t u = 0; u < model.units().size(); ++u) {
    for (const TensorSlot& slot : model.units()[u].layout.tensors) targets[slot.name] = Target{u, &slot};
  }
  static const std::regex inv_freq(R"(model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq)");
  const std::string embed_name = "model.embed_tokens.weight";

  Reader reader(path);
  const nlohmann::json header = reader.open();

  // Validate every entry before touching the model.
  std::vector<Entry> entries;
  std::unordered_map<std::string, bool> seen;
  std::optional<Entry> tied_head;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) reader.fail("'__metadata__' is not a JSON object");
      continue;
    }
    if (std::regex_match(name, inv_freq)) continue;  // RoPE tables are recomputed, never loaded
    auto it = targets.find(name);
    if (it == targets.end() && config.tied_embeddings && name == "lm_head.weight") {
      const auto shape = expected_shape(*targets.at(embed_name).slot);
      tied_head = reader.entry(name, value, &shape);
      continue;
    }
    if (it == targets.end()) {
      reader.fail(fmt::format("unexpected tensor '{}': this model (vocab {}, dim {}, {} layers, {}) has no such tensor",
                              name, config.vocab_size, config.dim, config.n_layers,
                              config.tied_embeddings ? "tied embeddings" : "untied"));
    }
    const auto shape = expected_shape(*it->second.slot);
    Entry e = reader.entry(name, value, &shape);
    e.target = &it->second;
    seen[name] = true;
    entries.push_back(std::move(e));
  }
  for (const ParamUnit& unit : model.units()) {
    for (const TensorSlot& slot : unit.layout.tensors) {
      if (!seen.count(slot.name)) {
        reader.fail(fmt::format("missing tensor '{}' (expected shape {}, F32 or BF16)", slot.name,
                                shape_text(expected_shape(slot))));
      }
    }
  }
  if (tied_head) {  // a tied model's lm_head.weight must be the embedding table itself
    const Entry* embed = nullptr;
    for (const Entry& e : entries) {
      if (e.name == embed_name) embed = &e;
    }
    const std::size_t n = targets.at(embed_name).slot->size();
    std::vector<float> a(n), b(n);
    reader.read(*embed, a.data(), n);
    reader.read(*tied_head, b.data(), n);
    if (std::memcmp(a.data(), b.data(), n * sizeof(float)) != 0) {
      reader.fail(
          fmt::format("tensor 'lm_head.weight' differs from '{}', but the model ties its embeddings", embed_name));
    }
  }

  for (const Entry& e : entries) {
    ParamUnit& unit = model.units()[e.target->unit];
    reader.read(e, unit.params.data() + e.target->slot->offset, e.target->slot->size());
  }
}

}  // namespace awsdt::nn
