// MPI process lifetime and error checking for the MPI backend and bootstrap. Internal to libawsdt.
#pragma once

#include <mpi.h>

#include <string>

#include "util/error.hpp"

namespace awsdt::mpi {

/// Initializes MPI once per process (finalized at exit) with MPI_THREAD_MULTIPLE: streams call MPI from their
/// own threads, possibly several at once. (Open MPI 4.1 charges about 0.25 us per small operation for any
/// level above MPI_THREAD_SINGLE, SERIALIZED and FUNNELED included, so nothing cheaper was to be had.)
void ensure_initialized();
/// The MPI error string for `code`.
std::string error_string(int code);

}  // namespace awsdt::mpi

#define AWSDT_CHECK_MPI(call)                                                                                  \
  do {                                                                                                         \
    int awsdt_rc_ = (call);                                                                                    \
    if (awsdt_rc_ != MPI_SUCCESS)                                                                              \
      throw ::awsdt::Error(std::string(#call) + " failed: " + ::awsdt::mpi::error_string(awsdt_rc_), __FILE__, \
                           __LINE__);                                                                          \
  } while (0)
