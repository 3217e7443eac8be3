// The values every job template sees, computed once from a JobSpec (see architectures/*/ for their use).
#pragma once

#include <string>

#include <kainjow/mustache.hpp>

#include "jobspec.hpp"

namespace awsdt::launcher {

/// Template data for `spec`; `file_name` is the rendered file's name (templates mention it in their header).
kainjow::mustache::data template_data(const JobSpec& spec, const std::string& file_name);
/// `image` as enroot (pyxis) names it, [USER@][REGISTRY#]IMAGE[:TAG]: "host/rest" becomes "host#rest" when host is
/// a registry (has '.' or ':', or is localhost); squashfs files and references that already have '#' are kept.
std::string enroot_image(const std::string& image);
/// The command each rank runs: the executable (under bin_dir when set) and its arguments.
std::vector<std::string> rank_command(const JobSpec& spec);

}  // namespace awsdt::launcher
