// File helpers: atomic writes so that readers and crashes never leave half a file behind.
#pragma once

#include <string>

namespace awsdt {

/// Writes `content` to `path` via a temporary file in the same directory, fsync, rename and fsync of the
/// directory (so that the new name survives a crash too); without `durable`, no fsync: still atomic for readers.
/// Throws UsageError naming the path when it cannot be written.
void write_file_atomic(const std::string& path, const std::string& content, bool durable = true);
/// A name for a temporary sibling of `path` that no other writer picks: host, pid and a random part (containers
/// on different nodes often share a pid, and two jobs may write one shared directory).
std::string temporary_name(const std::string& path);
/// Flushes a directory's entries (renames and creations in it) to disk; throws UsageError naming it.
void fsync_directory(const std::string& dir);
/// The whole file; throws UsageError naming the path when it cannot be read.
std::string read_file(const std::string& path);
/// Checks, without creating or changing anything, that a file can be written at `path` later (an output written
/// only at the end of a run): throws UsageError naming `flag` when it is a directory or not a regular file, when
/// it or its directory is on /proc or /sys, when its directory does not exist, or when it or its directory cannot
/// be written. For checks before the work, not instead of the write's.
void check_writable_file(const std::string& path, const std::string& flag);

}  // namespace awsdt
