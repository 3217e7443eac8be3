// The launcher's inputs that the fuzz targets share: the committed collectives manifest and instance catalog,
// and a Slurm job on p5.48xlarge resolved from flags the way `awsdt render` resolves them.
#pragma once

#include "awsdt/config.hpp"
#include "catalog.hpp"
#include "checkpoint_args.hpp"
#include "cluster/backend.hpp"
#include "jobspec.hpp"
#include "manifest.hpp"

namespace awsdt::fuzz {

inline const launcher::Manifest& collectives_manifest() {
  static const auto m =
      launcher::load_manifest(std::string(AWSDT_SOURCE_DIR) + "/test_cases/collectives/test_case.json");
  return m;
}

inline const launcher::Catalog& catalog() {
  static const auto c = launcher::Catalog::load(std::string(AWSDT_SOURCE_DIR) + "/architectures");
  return c;
}

/// Flags of a Slurm job of collectives on 2 p5.48xlarge nodes, with its binaries and job directory fixed.
inline launcher::JobFlags slurm_flags() {
  launcher::JobFlags f;
  f.cluster = "slurm";
  f.nodes = 2;
  f.instance_type = "p5.48xlarge";
  f.bin_dir = "/fsx/awsdt/bin";
  f.job_dir = "/fsx/awsdt/jobs/fuzz";
  return f;
}

/// The files `awsdt render` writes for flags (profile applied, validated; throws UsageError when refused).
inline launcher::Artifacts render(const launcher::JobFlags& flags, const launcher::TemplateSet& templates) {
  auto spec = launcher::resolve_jobspec(collectives_manifest(), catalog(), flags);
  launcher::add_output_args(spec, collectives_manifest());
  return launcher::make_backend(spec.cluster)->render(spec, templates);
}

}  // namespace awsdt::fuzz
