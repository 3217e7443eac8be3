// awsdt::Error and the AWSDT_CHECK_* macros: every failure carries the host, rank, file and line it came from,
// so that a message from one of many ranks says where to look.
#pragma once

#include <stdexcept>
#include <string>

namespace awsdt {

/// Sets the rank and host recorded in every Error thrown by this process (call once the rank is known).
void set_process_identity(int rank, std::string host);
/// The rank recorded by set_process_identity, or -1 before it is known.
int process_rank();
/// This machine's host name (cached).
const std::string& host_name();

/// An error with its origin; what() is one line: "[rank R on HOST] message (file:line)".
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file, int line);
  const std::string& message() const { return message_; }
  int rank() const { return rank_; }
  const std::string& host() const { return host_; }

 private:
  std::string message_;
  int rank_;
  std::string host_;
};

/// Bad user input (flags, files, environment): reported as one line without source location, exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace awsdt

#define AWSDT_THROW(msg) throw ::awsdt::Error((msg), __FILE__, __LINE__)
#define AWSDT_CHECK(cond, msg)                                               \
  do {                                                                       \
    if (!(cond)) throw ::awsdt::Error(std::string(msg), __FILE__, __LINE__); \
  } while (0)
