// Sharded checkpoint files and directories (see checkpoint_format.hpp).
#include "train/checkpoint_format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace fs = std::filesystem;

namespace awsdt::train {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr const char* kMetadata = "metadata.json";
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;

// step_NNNNNNNN → N, or -1 for any other name.
std::int64_t step_of(const fs::path& p) {
  static const std::regex re("step_([0-9]{8,})");
  std::smatch m;
  const std::string name = p.filename().string();
  if (!std::regex_match(name, m, re)) return -1;
  return std::stoll(m[1].str());
}

// Checkpoint directories under dir, oldest first. A directory that does not exist holds none; one that cannot
// be listed (permissions, a stale network mount) is an error, not a fresh start from step 0.
std::vector<std::pair<std::int64_t, fs::path>> step_dirs(const std::string& dir) {
  std::vector<std::pair<std::int64_t, fs::path>> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    std::error_code kind;
    if (const std::int64_t s = step_of(it->path()); s >= 0 && it->is_directory(kind)) out.emplace_back(s, it->path());
  }
  if (ec) throw UsageError(fmt::format("cannot list checkpoint directory '{}': {}", dir, ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

bool complete(const fs::path& p) { return fs::exists(p / kMetadata); }

void write_all(int fd, const void* data, std::size_t bytes, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (bytes) {
    const ssize_t k = ::write(fd, p, bytes);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    p += k;
    bytes -= static_cast<std::size_t>(k);
  }
}

}  // namespace

std::string checkpoint_path(const std::string& dir, std::int64_t step) {
  return (fs::path(dir) / fmt::format("step_{:08d}", step)).string();
}

std::string shard_file_name(int i, int n, int tp_rank, int tp) {
  if (tp == 1) return fmt::format("shard_{:05d}_of_{:05d}.safetensors", i, n);
  return fmt::format("tp_{:03d}_of_{:03d}_shard_{:05d}_of_{:05d}.safetensors", tp_rank, tp, i, n);
}

std::optional<std::string> find_latest_checkpoint(const std::string& dir) {
  const auto dirs = step_dirs(dir);
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
    if (complete(it->second)) return it->second.string();
  return std::nullopt;
}

CheckpointInfo open_checkpoint(const std::string& path) {
  const auto bad = [&](const std::string& what) { throw UsageError(fmt::format("checkpoint '{}': {}", path, what)); };
  if (!fs::is_directory(path)) bad("not a directory");
  const fs::path meta_path = fs::path(path) / kMetadata;
  if (!fs::exists(meta_path))
    bad(fmt::format("no {}: incomplete (a save that did not finish) or not a checkpoint", kMetadata));
  CheckpointInfo info;
  info.path = path;
  info.meta = nlohmann::json::parse(read_file(meta_path.string()), nullptr, /*allow_exceptions=*/false);
  const nlohmann::json& m = info.meta;
  if (m.is_discarded() || !m.is_object()) bad(fmt::format("{} is not a JSON object", kMetadata));
  // Every field is read inside the try: a field of the wrong type is a malformed checkpoint, named as one.
  try {
    if (m.value("format", std::string()) != kCheckpointFormat)
      bad(fmt::format("not an awsdt-fsdp checkpoint ({} has format '{}', expected '{}')", kMetadata,
                      m.value("format", std::string()), kCheckpointFormat));
    if (m.value("version", 0) != kCheckpointVersion)
      bad(fmt::format("format version {} is not supported (this build reads version {})", m.value("version", 0),
                      kCheckpointVersion));
    info.step = m.at("step").get<std::int64_t>();
    info.shards = m.at("shards").get<int>();
    const int tp = m.value("tensor_parallel", 1);
    const auto& files = m.at("files");
    if (!files.is_array() || info.shards < 1 || tp < 1 ||
        files.size() != static_cast<std::uint64_t>(info.shards) * static_cast<std::uint64_t>(tp))
      bad(fmt::format("{} lists {} file(s) for {} shard(s) x {} tensor-parallel rank(s)", kMetadata, files.size(),
                      info.shards, tp));
    for (const auto& f : files) {
      const std::string name = f.at("name").get<std::string>();
      const auto bytes = f.at("bytes").get<std::uint64_t>();
      std::error_code ec;
      const auto found = fs::file_size(fs::path(path) / name, ec);
      if (ec) bad(fmt::format("shard file '{}' is missing: {}", name, ec.message()));
      if (found != bytes)
        bad(fmt::format("shard file '{}' has {} bytes, the metadata says {} (truncated or overwritten)", name, found,
                        bytes));
    }
    m.at("units").get<std::vector<nlohmann::json>>();
    m.at("model");
  } catch (const nlohmann::json::exception& e) {
    bad(fmt::format("malformed {}: {}", kMetadata, e.what()));
  }
  return info;
}

std::optional<CheckpointInfo> resolve_resume(const std::string& resume, const std::string& dir) {
  if (resume == "none") return std::nullopt;
  if (resume == "auto") {
    if (dir.empty()) return std::nullopt;
    const auto latest = find_latest_checkpoint(dir);
    if (!latest) return std::nullopt;
    return open_checkpoint(*latest);
  }
  if (!fs::exists(resume))
    throw UsageError(
        fmt::format("--resume '{}': no such checkpoint (expected auto, none or a "
                    "checkpoint directory)",
                    resume));
  if (fs::exists(fs::path(resume) / kMetadata) || step_of(resume) >= 0) return open_checkpoint(resume);
  const auto latest = find_latest_checkpoint(resume);
  if (!latest)
    throw UsageError(
        fmt::format("--resume '{}': neither a checkpoint nor a directory holding a complete "
                    "one",
                    resume));
  return open_checkpoint(*latest);
}

std::uint64_t write_shard_file(const std::string& path, std::span<const ShardTensor> tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "awsdt-fsdp-shard"}};
  std::uint64_t offset = 0;
  for (const ShardTensor& t : tensors) {
    const std::uint64_t bytes = t.data.size() * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", {t.data.size()}}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as the reference writer does
  const std::uint64_t len = text.size();

  const std::string tmp = temporary_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  try {
    write_all(fd, &len, 8, path);
    write_all(fd, text.data(), text.size(), path);
    for (const ShardTensor& t : tensors) write_all(fd, t.data.data(), t.data.size() * sizeof(float), path);
    if (::fsync(fd) != 0) throw UsageError(fmt::format("cannot sync '{}': {}", path, std::strerror(errno)));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw UsageError(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  fsync_directory(fs::path(path).parent_path().string());  // the shard's name survives a crash too
  return 8 + len + offset;
}

ShardFile::ShardFile(std::string path) : path_(std::move(path)) {
  const auto bad = [&](const std::string& what) {
    throw UsageError(fmt::format("checkpoint shard '{}': {}", path_, what));
  };
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) bad(std::strerror(errno));
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(path_, ec);
  std::uint64_t len = 0;
  if (ec || file_size < 8 || ::pread(fd_, &len, 8, 0) != 8) bad("truncated: no header");
  if (len > kMaxHeaderBytes || len > file_size - 8)
    bad(fmt::format("truncated or not safetensors: header of {} bytes", len));
  std::string text(len, '\0');
  if (::pread(fd_, text.data(), len, 8) != static_cast<ssize_t>(len)) bad("cannot read the header");
  const nlohmann::json header = nlohmann::json::parse(text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) bad("the header is not a JSON object");
  data_start_ = 8 + len;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      if (v.at("dtype").get<std::string>() != "F32") bad(fmt::format("tensor '{}' is not F32", name));
      const auto offs = v.at("data_offsets").get<std::vector<std::uint64_t>>();
      if (offs.size() != 2 || offs[1] < offs[0] || (offs[1] - offs[0]) % 4 != 0 || data_start_ + offs[1] > file_size)
        bad(fmt::format("tensor '{}' lies outside the file's {} bytes (truncated?)", name, file_size));
      entries_.push_back({name, Entry{data_start_ + offs[0], (offs[1] - offs[0]) / 4}});
    } catch (const nlohmann::json::exception& e) {
      bad(fmt::format("tensor '{}': malformed header entry: {}", name, e.what()));
    }
  }
}

ShardFile::~ShardFile() {
  if (fd_ >= 0) ::close(fd_);
}

const ShardFile::Entry& ShardFile::entry(const std::string& name) const {
  for (const auto& [n, e] : entries_)
    if (n == name) return e;
  throw UsageError(fmt::format("checkpoint shard '{}': no tensor '{}'", path_, name));
}

std::uint64_t ShardFile::size(const std::string& name) const { return entry(name).elements; }

void ShardFile::read(const std::string& name, std::uint64_t offset, std::span<float> out) const {
  const Entry& e = entry(name);
  if (offset + out.size() > e.elements)
    throw UsageError(fmt::format("checkpoint shard '{}': tensor '{}' has {} elements, {} requested from {}", path_,
                                 name, e.elements, out.size(), offset));
  char* p = reinterpret_cast<char*>(out.data());
  std::uint64_t pos = e.begin + offset * sizeof(float), left = out.size() * sizeof(float);
  while (left) {
    const ssize_t k = ::pread(fd_, p, left, static_cast<off_t>(pos));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) throw UsageError(fmt::format("checkpoint shard '{}': read failed at byte {}", path_, pos));
    p += k;
    pos += static_cast<std::uint64_t>(k);
    left -= static_cast<std::uint64_t>(k);
  }
}

void commit_checkpoint(const std::string& path, const nlohmann::json& meta) {
  write_file_atomic((fs::path(path) / kMetadata).string(), meta.dump(2) + "\n");
}

void prepare_checkpoint_dir(const std::string& path) {
  std::error_code ec;
  fs::remove(fs::path(path) / kMetadata, ec);
  fs::remove_all(path, ec);
  fs::create_directories(path, ec);
  if (ec) throw UsageError(fmt::format("cannot create checkpoint directory '{}': {}", path, ec.message()));
  fsync_directory(fs::path(path).parent_path().string());
}

void prune_checkpoints(const std::string& dir, int keep) {
  if (keep <= 0) return;
  const auto dirs = step_dirs(dir);
  int complete_seen = 0;
  bool newer_complete = false;
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    const bool done = complete(it->second);
    const bool drop = done ? ++complete_seen > keep : newer_complete;
    newer_complete = newer_complete || done;
    if (!drop) continue;
    std::error_code ec;
    fs::remove(it->second / kMetadata, ec);  // no longer complete before any shard goes
    fs::remove_all(it->second, ec);
  }
}

}  // namespace awsdt::train
