# Helpers that keep every executable and test declared the same way.

# Warnings for our own targets only (never directory-wide).
function(awsdt_target_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
endfunction()

# awsdt_add_executable(NAME SOURCES... LIBS...): builds `awsdt-NAME` into bin/.
function(awsdt_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  set(target awsdt-${name})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
  awsdt_target_warnings(${target})
endfunction()

# awsdt_add_test(NAME SOURCES ... LIBS ... LABELS ... [EXECUTABLES target...] [RANKS n] [TIMEOUT s]):
# a GoogleTest executable registered with CTest. With RANKS it runs under mpirun with that many ranks.
# EXECUTABLES: the programs the test runs, built before it and found by tests/support/executables.hpp.
function(awsdt_add_test name)
  cmake_parse_arguments(ARG "" "RANKS;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS;EXECUTABLES" ${ARGN})
  if(NOT TARGET test_${name})
    add_executable(test_${name} ${ARG_SOURCES})
    target_link_libraries(test_${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
    set_target_properties(test_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
    target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    target_compile_definitions(test_${name} PRIVATE AWSDT_BUILD_DIR="${PROJECT_BINARY_DIR}")
    awsdt_target_warnings(test_${name})
  endif()
  if(ARG_EXECUTABLES)
    add_dependencies(test_${name} ${ARG_EXECUTABLES})
  endif()
  if(ARG_RANKS)
    set(test_name ${name}_np${ARG_RANKS})
    add_test(NAME ${test_name}
      COMMAND ${AWSDT_MPIRUN} ${AWSDT_MPIRUN_FLAGS} -np ${ARG_RANKS} $<TARGET_FILE:test_${name}> ${ARG_ARGS})
  else()
    set(test_name ${name})
    add_test(NAME ${test_name} COMMAND test_${name} ${ARG_ARGS})
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(${test_name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77)
endfunction()

# mpirun as the tests use it: oversubscribe (2 cores here), allowed as root, loopback only.
if(AWSDT_HAVE_MPI)
  # FindMPI's mpiexec, not a PATH search: on merged-/usr systems that can find /bin/mpirun, from which Open MPI
  # derives the install prefix "/" and refuses to start.
  set(AWSDT_MPIRUN "${MPIEXEC_EXECUTABLE}")
  set(AWSDT_MPIRUN_FLAGS --oversubscribe --allow-run-as-root --mca btl self,vader,tcp --mca btl_tcp_if_include lo
      --mca oob_tcp_if_include lo)
endif()
