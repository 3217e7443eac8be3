// Job database (see jobdb.hpp).
#include "jobdb.hpp"

#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "util/env.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      AWSDT_THROW(fmt::format("job database: {}", sqlite3_errmsg(db)));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, long v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    AWSDT_THROW(fmt::format("job database: {}", sqlite3_errmsg(db_)));
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  long integer(int col) const { return long(sqlite3_column_int64(stmt_, col)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

std::string now_utc() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

JobRecord row(const Statement& s) {
  JobRecord r;
  r.id = s.integer(0);
  r.backend_id = s.text(1);
  r.submitted_at = s.text(2);
  r.state = s.text(3);
  r.exit_code = int(s.integer(4));
  r.spec = nlohmann::json::parse(s.text(5)).get<JobSpec>();
  return r;
}

constexpr const char* kColumns = "id, backend_id, submitted_at, state, exit_code, spec";

}  // namespace

std::string JobDb::state_dir() {
  auto base = env_string("XDG_STATE_HOME").value_or(env_string("HOME").value_or("/root") + "/.local/state");
  return base + "/awsdt";
}

JobDb::JobDb(const std::string& path_in) {
  std::string path = path_in.empty() ? state_dir() + "/awsdt.db" : path_in;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK)
    throw UsageError(fmt::format("cannot open the job database {}: {}", path, sqlite3_errmsg(db_)));
  sqlite3_busy_timeout(db_, 5000);  // several awsdt processes may touch it at once
  Statement(db_,
            "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, backend_id TEXT DEFAULT '', "
            "submitted_at TEXT, state TEXT, exit_code INTEGER DEFAULT -1, cluster TEXT, test_case TEXT, "
            "name TEXT, nodes INTEGER, job_dir TEXT, spec TEXT)")
      .step();
}

JobDb::~JobDb() { sqlite3_close(db_); }

long JobDb::add(const JobSpec& spec) {
  Statement s(db_,
              "INSERT INTO jobs (submitted_at, state, cluster, test_case, name, nodes, job_dir, spec) "
              "VALUES (?, 'RENDERED', ?, ?, ?, ?, ?, ?)");
  s.bind(1, now_utc()).bind(2, spec.cluster).bind(3, spec.test_case).bind(4, spec.name).bind(5, long(spec.nodes));
  s.bind(6, spec.job_dir).bind(7, nlohmann::json(spec).dump()).step();
  return long(sqlite3_last_insert_rowid(db_));
}

void JobDb::remove(long id) { Statement(db_, "DELETE FROM jobs WHERE id = ?").bind(1, id).step(); }

void JobDb::set_backend_id(long id, const std::string& backend_id) {
  Statement(db_, "UPDATE jobs SET backend_id = ?, state = 'SUBMITTED' WHERE id = ?")
      .bind(1, backend_id)
      .bind(2, id)
      .step();
}

void JobDb::set_state(long id, const std::string& state, int exit_code) {
  Statement(db_, "UPDATE jobs SET state = ?, exit_code = ? WHERE id = ?")
      .bind(1, state)
      .bind(2, long(exit_code))
      .bind(3, id)
      .step();
}

JobRecord JobDb::find(const std::string& job) const {
  Statement by_backend(
      db_, fmt::format("SELECT {} FROM jobs WHERE backend_id = ? ORDER BY id DESC LIMIT 1", kColumns).c_str());
  const bool found_backend = by_backend.bind(1, job).step();
  // A number is awsdt's job number (what `awsdt jobs` shows). Slurm's and local ids are numbers too: one that is
  // not an awsdt number is never taken for whichever job had that scheduler id, it is named instead.
  char* end = nullptr;
  long n = std::strtol(job.c_str(), &end, 10);
  if (end && *end == '\0' && !job.empty()) {
    Statement s(db_, fmt::format("SELECT {} FROM jobs WHERE id = ?", kColumns).c_str());
    if (s.bind(1, n).step()) return row(s);
    if (found_backend) {
      auto other = row(by_backend);
      throw UsageError(fmt::format("no awsdt job {} was recorded; scheduler id {} is awsdt job {} (use that number)",
                                   job, job, other.id));
    }
    throw UsageError(fmt::format("no awsdt job {} was recorded (see `awsdt jobs`)", job));
  }
  if (found_backend) return row(by_backend);
  throw UsageError(fmt::format("unknown job '{}': not an awsdt job number or scheduler id (see `awsdt jobs`)", job));
}

void JobDb::update_spec(long id, const JobSpec& spec) {
  Statement(db_, "UPDATE jobs SET spec = ?, job_dir = ? WHERE id = ?")
      .bind(1, nlohmann::json(spec).dump())
      .bind(2, spec.job_dir)
      .bind(3, id)
      .step();
}

std::vector<JobRecord> JobDb::list(int limit) const {
  Statement s(db_, fmt::format("SELECT {} FROM jobs ORDER BY id DESC LIMIT ?", kColumns).c_str());
  s.bind(1, long(limit));
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(row(s));
  return out;
}

}  // namespace awsdt::launcher
