# Optional dependencies: each is AUTO (use if found, say so), ON (fatal if missing) or OFF.
# Required dependencies are found here too, so every find_package lives in one place.

find_package(Threads REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(GTest REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)

set(AWSDT_WITH_CUDA AUTO CACHE STRING "Build CUDA device code and kernels (AUTO|ON|OFF)")
set(AWSDT_WITH_NCCL AUTO CACHE STRING "Build the NCCL communication backend (AUTO|ON|OFF)")
set(AWSDT_WITH_MPI AUTO CACHE STRING "Build the MPI communication backend and bootstrap (AUTO|ON|OFF)")
set(AWSDT_WITH_LIBFABRIC AUTO CACHE STRING "Probe libfabric versions and providers (AUTO|ON|OFF)")
set(AWSDT_WITH_BLAS AUTO CACHE STRING "Use OpenBLAS for CPU GEMMs (AUTO|ON|OFF)")
foreach(opt CUDA NCCL MPI LIBFABRIC BLAS)
  set_property(CACHE AWSDT_WITH_${opt} PROPERTY STRINGS AUTO ON OFF)
  if(NOT AWSDT_WITH_${opt} MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "awsdt: AWSDT_WITH_${opt}='${AWSDT_WITH_${opt}}' is not one of AUTO, ON, OFF")
  endif()
endforeach()

# awsdt_resolve_option(NAME FOUND HINT): sets AWSDT_HAVE_NAME to 0/1 and reports the decision in one line.
function(awsdt_resolve_option name found hint)
  set(mode "${AWSDT_WITH_${name}}")
  if(mode STREQUAL "OFF")
    set(AWSDT_HAVE_${name} 0 PARENT_SCOPE)
    message(STATUS "awsdt: ${name} disabled (AWSDT_WITH_${name}=OFF)")
  elseif(found)
    set(AWSDT_HAVE_${name} 1 PARENT_SCOPE)
    message(STATUS "awsdt: ${name} found, building with it")
  elseif(mode STREQUAL "ON")
    message(FATAL_ERROR "awsdt: ${name} required (AWSDT_WITH_${name}=ON) but not found; ${hint}")
  else()
    set(AWSDT_HAVE_${name} 0 PARENT_SCOPE)
    message(STATUS "awsdt: ${name} not found, building without it; ${hint}, or set -DAWSDT_WITH_${name}=OFF to silence")
  endif()
endfunction()

# CUDA: the toolkit under /usr/local/cuda is enough to compile and link; no GPU is needed.
set(_cuda_found FALSE)
if(NOT AWSDT_WITH_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # A100 (80) and H100/H200 (90): the GPUs of p4d and p5 instances. Override with -DCMAKE_CUDA_ARCHITECTURES.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures")
    endif()
    enable_language(CUDA)
    # CMake 3.25 predates nvcc 13 and does not know its C++20 flag; our .cu files share C++20 headers.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND)
      set(_cuda_found TRUE)
    endif()
  endif()
endif()
awsdt_resolve_option(CUDA ${_cuda_found} "install the CUDA toolkit (nvcc) or set CMAKE_CUDA_COMPILER")

set(_nccl_found FALSE)
if(AWSDT_HAVE_CUDA AND NOT AWSDT_WITH_NCCL STREQUAL "OFF")
  find_package(NCCL)
  set(_nccl_found ${NCCL_FOUND})
endif()
if(NOT AWSDT_HAVE_CUDA AND AWSDT_WITH_NCCL STREQUAL "ON")
  message(FATAL_ERROR "awsdt: NCCL required (AWSDT_WITH_NCCL=ON) but CUDA is not available; install the CUDA toolkit")
endif()
awsdt_resolve_option(NCCL ${_nccl_found} "install NCCL (libnccl-dev) or set NCCL_ROOT")

set(_mpi_found FALSE)
if(NOT AWSDT_WITH_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS C)
  set(_mpi_found ${MPI_C_FOUND})
endif()
awsdt_resolve_option(MPI ${_mpi_found} "install Open MPI (apt-get install libopenmpi-dev openmpi-bin)")

set(_fabric_found FALSE)
if(NOT AWSDT_WITH_LIBFABRIC STREQUAL "OFF")
  find_package(Libfabric)
  set(_fabric_found ${Libfabric_FOUND})
endif()
awsdt_resolve_option(LIBFABRIC ${_fabric_found} "install libfabric (apt-get install libfabric-dev)")

set(_blas_found FALSE)
if(NOT AWSDT_WITH_BLAS STREQUAL "OFF")
  # The OpenMP build of OpenBLAS first: its GEMMs and the engine's OpenMP loops then share one thread team. The
  # pthread build keeps its own spinning workers, which take the cores from the OpenMP loops between GEMMs.
  find_library(AWSDT_OPENBLAS_OPENMP_LIB openblas
               PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
  find_path(AWSDT_OPENBLAS_OPENMP_INCLUDE cblas.h
            PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
  if(AWSDT_OPENBLAS_OPENMP_LIB AND AWSDT_OPENBLAS_OPENMP_INCLUDE)
    add_library(BLAS::BLAS UNKNOWN IMPORTED)
    set_target_properties(BLAS::BLAS PROPERTIES IMPORTED_LOCATION ${AWSDT_OPENBLAS_OPENMP_LIB}
                          INTERFACE_INCLUDE_DIRECTORIES ${AWSDT_OPENBLAS_OPENMP_INCLUDE})
    set(_blas_found TRUE)
    message(STATUS "awsdt: OpenBLAS (OpenMP build) ${AWSDT_OPENBLAS_OPENMP_LIB}")
  else()
    set(BLA_VENDOR OpenBLAS)
    find_package(BLAS)
    set(_blas_found ${BLAS_FOUND})
    if(BLAS_FOUND)
      message(STATUS "awsdt: OpenBLAS without its OpenMP build (apt-get install libopenblas-openmp-dev): CPU "
                     "training runs slower with more than one thread")
    endif()
  endif()
endif()
awsdt_resolve_option(BLAS ${_blas_found} "install OpenBLAS (apt-get install libopenblas-openmp-dev)")


# The instruction set the CPU engine's own loops (norms, softmax, SwiGLU, AdamW; not the GEMMs, whose kernels
# OpenBLAS picks at run time) are compiled for. AUTO: x86-64-v3 (AVX2, FMA: every x86 instance family AWS runs
# GPUs in) when the building machine has it, the compiler's default otherwise (docs/benchmarks.md has the
# figures). Set "" for a binary that must run on older x86-64 (same results within libm's ulps: the CPU compute
# targets never contract a*b+c into FMAs, see AWSDT_CPU_MATH_FLAGS below), or e.g. "native".
set(AWSDT_CPU_ARCH AUTO CACHE STRING "-march for the CPU engine's loops (AUTO|<arch>|empty for the default)")
if(AWSDT_CPU_ARCH STREQUAL "AUTO")
  set(_cpu_arch "")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND NOT CMAKE_CROSSCOMPILING)
    include(CheckCXXSourceRuns)
    check_cxx_source_runs([[
      int main() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 0 : 1; }]]
      AWSDT_HOST_HAS_X86_64_V3)
    if(AWSDT_HOST_HAS_X86_64_V3)
      set(_cpu_arch x86-64-v3)
    endif()
  endif()
else()
  set(_cpu_arch "${AWSDT_CPU_ARCH}")
endif()
set(AWSDT_CPU_ARCH_FLAGS "")
if(_cpu_arch)
  set(AWSDT_CPU_ARCH_FLAGS -march=${_cpu_arch})
endif()
if(_cpu_arch)
  message(STATUS "awsdt: CPU engine loops compiled for: ${_cpu_arch}")
else()
  message(STATUS "awsdt: CPU engine loops compiled for: the compiler's default target")
endif()

# Floating-point flags of every CPU compute target (awsdt_kernels, awsdt_nn). sqrt (AdamW, RMSNorm) vectorizes
# only when it need not set errno, which nothing here reads; IEEE sqrt is correctly rounded either way, so the
# numbers are the same. No contraction: GCC would otherwise fuse a*b+c into FMAs wherever the ISA has them
# (x86-64-v3, every aarch64), so the same source would round differently per machine, and an accumulation would
# stop being exactly the sum of its parts.
set(AWSDT_CPU_MATH_FLAGS -fno-math-errno -ffp-contract=off ${AWSDT_CPU_ARCH_FLAGS})
