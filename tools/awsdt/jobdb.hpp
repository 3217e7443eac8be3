// Job history in SQLite ($XDG_STATE_HOME/awsdt/awsdt.db): every submitted job with its spec, artifacts, backend
// id, state and result files, so status/logs/cancel/jobs work from any directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jobspec.hpp"

struct sqlite3;

namespace awsdt::launcher {

struct JobRecord {
  long id = 0;               ///< awsdt's job number
  std::string backend_id;    ///< the scheduler's id
  std::string submitted_at;  ///< ISO 8601 UTC
  std::string state = "SUBMITTED";
  int exit_code = -1;
  JobSpec spec;
};

class JobDb {
 public:
  /// Opens (creating) the database at `path`, or the default location when empty.
  explicit JobDb(const std::string& path = "");
  ~JobDb();
  JobDb(const JobDb&) = delete;
  JobDb& operator=(const JobDb&) = delete;

  /// Records a job before submission (so its directory exists); returns its number.
  long add(const JobSpec& spec);
  /// Forgets a job that never reached its scheduler (rendering or submission failed).
  void remove(long id);
  void set_backend_id(long id, const std::string& backend_id);
  /// Stores the final spec (its job directory is known only once the job has a number).
  void update_spec(long id, const JobSpec& spec);
  void set_state(long id, const std::string& state, int exit_code);
  /// By awsdt number or by the scheduler's id; throws UsageError naming the job when unknown.
  JobRecord find(const std::string& job) const;
  /// Newest first.
  std::vector<JobRecord> list(int limit = 50) const;
  /// $XDG_STATE_HOME/awsdt (default ~/.local/state/awsdt).
  static std::string state_dir();

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace awsdt::launcher
