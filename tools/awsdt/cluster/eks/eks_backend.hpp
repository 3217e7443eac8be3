// EKS and HyperPod EKS: MPIJob (kubeflow.org/v2beta1) for MPI launches, PyTorchJob (kubeflow.org/v1) or, on
// HyperPod, HyperPodPyTorchJob with the environment bootstrap; kubectl apply / get -o json / logs / delete.
#pragma once

#include <memory>
#include <string>

#include "cluster/backend.hpp"

namespace awsdt::launcher {

/// eks, or hyperpod-eks with hyperpod.
std::unique_ptr<ClusterBackend> make_eks_backend(bool hyperpod);

}  // namespace awsdt::launcher
