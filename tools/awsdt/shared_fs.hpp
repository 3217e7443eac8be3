// Whether a path lies on a filesystem every node of a cluster sees (FSx for Lustre, EFS/NFS, ...): the
// executables a job runs without a container, and the checkpoints of a multi-node job, must.
#pragma once

#include <string>

namespace awsdt::launcher {

struct FilesystemInfo {
  std::string path;  ///< the nearest existing ancestor that was examined
  std::string type;  ///< "lustre", "nfs", "ext4", "tmpfs", ... or "unknown"
  bool shared = false;
};

/// The filesystem of `path`, or of its nearest existing parent when it does not exist yet.
FilesystemInfo filesystem_of(const std::string& path);

}  // namespace awsdt::launcher
