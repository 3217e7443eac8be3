// Sharded checkpoints (awsdt-fsdp --resume): metadata.json and the safetensors shard files it names. The input
// is the metadata when it starts with '{', else a shard file; the other part is a valid one (the seeds'), so
// that each parser is reached with the other satisfied. Bad checkpoints must be refused with a UsageError.
#include <vector>

#include "fuzz_support.hpp"
#include "train/checkpoint_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace awsdt;
  const auto dir = fuzz::scratch_dir() / "step_00000002";
  static const std::vector<float> values{1, 2, 3, 4, 5, 6};
  static const std::string good_meta = [&] {
    std::filesystem::create_directories(dir);
    const std::vector<train::ShardTensor> tensors{{"unit.0.param", values}};
    const auto bytes = train::write_shard_file((dir / train::shard_file_name(0, 1)).string(), tensors);
    const nlohmann::json file{{"name", train::shard_file_name(0, 1)}, {"bytes", bytes}};
    return nlohmann::json{{"format", train::kCheckpointFormat},
                          {"version", train::kCheckpointVersion},
                          {"step", 2},
                          {"shards", 1},
                          {"files", {file}},
                          {"units", nlohmann::json::array()},
                          {"model", nlohmann::json::object()}}
        .dump();
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool meta = !input.empty() && input[0] == '{';
  const auto shard = dir / train::shard_file_name(0, 1);
  if (meta) {
    const std::vector<train::ShardTensor> tensors{{"unit.0.param", values}};
    train::write_shard_file(shard.string(), tensors);
  } else {
    fuzz::write_bytes(shard, input);
  }
  fuzz::write_bytes(dir / "metadata.json", meta ? input : std::string_view(good_meta));
  fuzz::accepts([&] { train::open_checkpoint(dir.string()); });
  fuzz::accepts([&] {
    train::ShardFile file(shard.string());
    const auto n = file.size("unit.0.param");
    std::vector<float> out(std::min<std::uint64_t>(n, 64));
    file.read("unit.0.param", 0, out);
  });
  return 0;
}
