// Filesystem types (see shared_fs.hpp).
#include "shared_fs.hpp"

#include <sys/vfs.h>

#include <filesystem>
#include <utility>

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

struct Magic {
  long magic;
  const char* name;
  bool shared;
};

// statfs f_type values (linux/magic.h and the filesystems' own headers).
constexpr Magic kMagics[] = {
    {0x0BD00BD0, "lustre", true}, {0x6969, "nfs", true},          {0xFF534D42, "cifs", true},
    {0xFE534D42, "smb2", true},   {0x47504653, "gpfs", true},     {0x19830326, "beegfs", true},
    {0x00C36400, "ceph", true},   {0x65735546, "fuse", true},     {0x013111A8, "ibrix", true},
    {0xEF53, "ext4", false},      {0x58465342, "xfs", false},     {0x9123683E, "btrfs", false},
    {0x01021994, "tmpfs", false}, {0x794C7630, "overlay", false}, {0x2FC12FC1, "zfs", false},
    {0x858458F6, "ramfs", false},
};

}  // namespace

FilesystemInfo filesystem_of(const std::string& path) {
  FilesystemInfo info{path, "unknown", false};
  fs::path p = fs::absolute(path).lexically_normal();
  std::error_code ec;
  while (!fs::exists(p, ec) && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();
  info.path = p.string();
  struct statfs st {};
  if (::statfs(p.c_str(), &st) != 0) return info;
  for (const auto& m : kMagics)
    if (static_cast<long>(st.f_type) == m.magic) {
      info.type = m.name;
      info.shared = m.shared;
    }
  return info;
}

}  // namespace awsdt::launcher
