// The fake node (see fake_tree.hpp).
#include "fake_tree.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

namespace awsdt::health::testing {
namespace fs = std::filesystem;

FakeNode::FakeNode() {
  std::string templ = (fs::temp_directory_path() / "awsdt_hc_XXXXXX").string();
  dir_ = ::mkdtemp(templ.data());
  write("/sys/devices/virtual/dmi/id/product_name", "p5.48xlarge\n");
  for (int i = 0; i < 32; ++i) {
    auto dev = fmt::format("/sys/class/infiniband/rdmap{}s0/device/", 16 + i);
    write(dev + "vendor", "0x1d0f\n");
    write(dev + "device", "0xefa1\n");
    write(fmt::format("/dev/infiniband/uverbs{}", i), "");
  }
  write("/proc/modules",
        "efa 155648 0 - Live 0x0\nib_uverbs 163840 1 efa, Live 0x0\nib_core 430080 2 efa,ib_uverbs, Live 0x0\n");
  write("/proc/meminfo", "MemTotal:       2097152000 kB\nHugePages_Total:    5128\nHugepagesize:       2048 kB\n");
  write("/proc/self/limits",
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1048576              1048576              files     \n"
        "Max locked memory         unlimited            unlimited            bytes     \n");
  write("/proc/mounts", "/dev/nvme0n1p1 / ext4 rw 0 0\n10.0.0.1@tcp:/fsx /fsx lustre rw 0 0\n");
  write("/proc/4242/comm", "nv-fabricmanager\n");
  write("/run/awsdt/adjtimex", "status 8193\nmaxerror 12000\nesterror 400\n");  // STA_PLL|STA_NANO, synchronised
  write("/dev/kmsg", "6,100,5000,-;NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.90.07\n");
  fs::create_directories(dir_ / "dev/shm");
  nvml = {{"gpus", nlohmann::json::array()}};
  for (int g = 0; g < 8; ++g)
    nvml["gpus"].push_back({{"name", "NVIDIA H100 80GB HBM3"},
                            {"persistence", 1},
                            {"retired_pages", {{"sbe", 0}, {"dbe", 0}, {"pending", 0}}},
                            {"volatile_uncorrected", 0},
                            {"remapped_rows", {{"pending", 0}, {"failure", 0}}},
                            {"nvlinks", std::vector<int>(18, 1)}});
  save_nvml();
}

FakeNode::~FakeNode() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void FakeNode::write(const std::string& abs, const std::string& content) {
  auto p = dir_ / abs.substr(1);
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

void FakeNode::remove(const std::string& abs) { fs::remove_all(dir_ / abs.substr(1)); }

void FakeNode::kernel_log(const std::string& line) {
  std::ofstream(dir_ / "dev/kmsg", std::ios::app) << "4,200,6000,-;" << line << "\n";
}

void FakeNode::save_nvml() const {
  std::ofstream(nvml_file()) << nvml.dump();
  ::setenv("AWSDT_FAKE_NVML", nvml_file().c_str(), 1);
}

Context FakeNode::context() const {
  save_nvml();
  Context ctx{NodeRoot(dir_), Settings{}, "", std::nullopt, {}};
  ctx.settings.nvml_library = FAKE_NVML;
  ctx.instance_type = detect_instance_type(ctx.root, "");
  ctx.expect = expectation_for(ctx.instance_type);
  return ctx;
}

std::string FakeNode::flags() const {
  save_nvml();
  return fmt::format(" --root {} --nvml-library {} ", dir_.string(), FAKE_NVML);
}

}  // namespace awsdt::health::testing
