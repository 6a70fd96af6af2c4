// Asserts that a call throws remedi::Error with the given file, field and reason.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "util/error.h"

namespace remedi::test {

template <typename Call>
void expect_error(Call&& call, const std::string& file, const std::string& field, const std::string& reason) {
  try {
    call();
    ADD_FAILURE() << "expected remedi::Error(" << file << ", " << field << ", " << reason << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), file);
    EXPECT_EQ(e.field(), field);
    EXPECT_EQ(e.reason(), reason);
  }
}

// Same, but the reason need only contain `reason_part`.
template <typename Call>
void expect_error_containing(Call&& call, const std::string& file, const std::string& field,
                             const std::string& reason_part) {
  try {
    call();
    ADD_FAILURE() << "expected remedi::Error(" << file << ", " << field << ", ..." << reason_part << "...)";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), file);
    EXPECT_EQ(e.field(), field);
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.reason();
  }
}

}  // namespace remedi::test
