// Whole-file reads: the one error wording every text and JSON reader shares.
#include "util/read_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "io/expect_error.h"
#include "test_support.h"

namespace remedi {
namespace {

TEST(ReadFile, TextAndJson) {
  const std::string dir = test::temp_dir("remedi-read-file");
  test::write_file(dir + "/a.txt", std::string("x\0y\n", 4));
  EXPECT_EQ(read_text_file(dir + "/a.txt"), std::string("x\0y\n", 4));
  test::write_file(dir + "/empty", "");
  EXPECT_EQ(read_text_file(dir + "/empty"), "");
  test::write_file(dir + "/a.json", R"({"b": 1, "a": [true, null]})");
  EXPECT_EQ(read_json_file(dir + "/a.json"), nlohmann::json::parse(R"({"a": [true, null], "b": 1})"));
  // ordered_json keeps the file's key order.
  EXPECT_EQ(read_json_file<nlohmann::ordered_json>(dir + "/a.json").begin().key(), "b");
  std::filesystem::remove_all(dir);
}

TEST(ReadFile, ErrorsNameTheFile) {
  const std::string dir = test::temp_dir("remedi-read-file");
  test::expect_error([&] { (void)read_text_file(dir + "/absent"); }, dir + "/absent", "",
                     "cannot open: No such file or directory");
  test::expect_error([&] { (void)read_json_file(dir + "/absent"); }, dir + "/absent", "",
                     "cannot open: No such file or directory");
  test::expect_error([&] { (void)read_text_file(dir); }, dir, "", "is a directory, expected a file");
  for (const char* broken : {"{\"a\": ", "", "[1, 2] 3", "{\"a\": \"\xFF\"}"}) {
    test::write_file(dir + "/broken.json", broken);
    try {
      (void)read_json_file(dir + "/broken.json");
      ADD_FAILURE() << "accepted " << broken;
    } catch (const Error& e) {
      EXPECT_EQ(e.file(), dir + "/broken.json");
      EXPECT_EQ(e.field(), "");
      EXPECT_EQ(e.reason().rfind("not valid JSON: ", 0), 0U) << e.reason();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi
