#include "util/error.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "util/mapped_file.h"

namespace remedi {
namespace {

TEST(Error, NamesFileFieldAndReasonOnOneLine) {
  const Error error("model.gguf", "tokenizer.ggml.tokens", "expected an array\nof strings");
  EXPECT_STREQ(error.what(), "model.gguf: tokenizer.ggml.tokens: expected an array of strings");
  EXPECT_EQ(error.field(), "tokenizer.ggml.tokens");
}

TEST(Error, OmitsEmptyField) {
  const Error error("x.json", "", "cannot open");
  EXPECT_STREQ(error.what(), "x.json: cannot open");
}

TEST(MappedFile, MapsContentsAndRejectsMissingFile) {
  const std::string dir = test::temp_dir("mapped");
  test::write_file(dir + "/f", "abc");
  const MappedFile file(dir + "/f");
  ASSERT_EQ(file.size(), 3U);
  EXPECT_EQ(static_cast<char>(file.data()[1]), 'b');
  EXPECT_THROW(MappedFile{dir + "/missing"}, Error);
  EXPECT_THROW(MappedFile{dir}, Error);
}

}  // namespace
}  // namespace remedi
