// Result documents: JSON round trip, atomic write and read back, clear errors for foreign files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "results/result.hpp"
#include "util/error.hpp"

using namespace awsdt;

TEST(Result, RoundTripsThroughAFile) {
  char arg0[] = "awsdt-test", arg1[] = "--flag";
  char* argv[] = {arg0, arg1};
  auto doc = make_result_document("collectives", 2, argv);
  doc.hosts = {"a", "b"};
  doc.world_size = 2;
  doc.backend = "mpi";
  doc.config = {{"op", "all_reduce"}};
  doc.rows.push_back({{"size", 8}, {"time_us", 1.5}});
  doc.summary = {{"avg_busbw", 0.25}};
  doc.add_check("wrong elements", true, "0 wrong");
  doc.extra = {{"results", doc.rows}, {"version", 2}};
  EXPECT_TRUE(doc.passed());
  doc.add_check("min busbw", false, "below 5 GB/s");
  EXPECT_FALSE(doc.passed());

  auto path = (std::filesystem::temp_directory_path() / "awsdt_result_roundtrip.json").string();
  write_result_document(doc, path);
  auto back = read_result_document(path);
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(doc));
  EXPECT_EQ(back.argv, (std::vector<std::string>{"awsdt-test", "--flag"}));
  EXPECT_TRUE(back.versions.contains("mpi"));
  EXPECT_FALSE(back.passed());
  EXPECT_EQ(back.extra["version"], 2);
  EXPECT_EQ(back.extra["results"], doc.rows);
  std::filesystem::remove(path);
}

TEST(Result, ForeignOrTruncatedFilesGetAClearError) {
  auto path = (std::filesystem::temp_directory_path() / "awsdt_result_bad.json").string();
  std::ofstream(path) << "{\"schema_version\": 1, \"benchm";
  EXPECT_THROW(read_result_document(path), UsageError);
  std::ofstream(path) << "{\"schema_version\": 99}";
  try {
    read_result_document(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema_version 99"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "{\"schema_version\": 1}";
  EXPECT_THROW(read_result_document(path), Error);
  std::filesystem::remove(path);
  EXPECT_THROW(read_result_document(path), UsageError);
}
