#include "io/pickle.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "util/error.h"
#include "util/mapped_file.h"

namespace remedi::io {
namespace {

using namespace std::string_view_literals;

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> bytes;
  for (const char c : text) bytes.push_back(static_cast<std::byte>(c));
  return bytes;
}

std::string error_of(std::string_view pickle) {
  try {
    read_pickle(bytes_of(pickle), "x.pkl");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Pickle, ReadsBiosListsOfEveryProtocol) {
  // Written by tests/reference/make_pickles.py with pickle.dumps(bios, protocol=N).
  for (const int protocol : {2, 3, 4, 5}) {
    std::vector<PickleValue> items;
    read_pickle_list_file(test::fixture("data/bios_protocol" + std::to_string(protocol) + ".pkl"),
                          [&](PickleValue item) {
                            items.push_back(std::move(item));
                            return true;
                          });
    ASSERT_EQ(items.size(), 2U) << "protocol " << protocol;
    EXPECT_EQ(items[0]["name"], PickleValue::array({"Mary", "Ann", "Smith"}));
    EXPECT_EQ(items[0]["start_pos"], 38);
    EXPECT_EQ(items[1]["name"], PickleValue::array({"Jos\u00e9", "", "P\u00e9rez"}));
    EXPECT_EQ(items[1]["title"], "software_engineer");  // the same str object: a memo GET
    EXPECT_EQ(items[1]["raw"].get<std::string>().substr(0, 24), "Jos\u00e9 P\u00e9rez is a nurse.");
  }
}

TEST(Pickle, StopsWhenTheVisitorSaysSo) {
  int calls = 0;
  read_pickle_list_file(test::fixture("data/bios_protocol4.pkl"), [&](const PickleValue&) {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 1);
}

TEST(Pickle, EverySupportedTypeMatchesPython) {
  const MappedFile file(test::fixture("data/mixed.pkl"));
  const PickleValue value = read_pickle(file.bytes(), file.path());
  const PickleValue expected = PickleValue::parse(test::read_file(test::fixture("data/mixed.json")));
  EXPECT_EQ(value, expected);
  EXPECT_EQ(value["long"], 1099511627776LL);
  EXPECT_EQ(value["negative_long"], -1099511627776LL);
}

TEST(Pickle, RefusesCodeAndMalformedStreams) {
  std::vector<PickleValue> items;
  try {
    read_pickle_list_file(test::fixture("data/global.pkl"), [&](PickleValue item) {
      items.push_back(std::move(item));
      return true;
    });
    FAIL() << "a pickle that builds an object was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported opcode 0x93"), std::string::npos)
        << e.what();  // STACK_GLOBAL
  }
  EXPECT_EQ(error_of(""),
            "x.pkl: byte 0: not a pickle of protocol 2 or later (protocols 0 and 1 are not supported; "
            "re-save with pickle.dump(obj, f, protocol=4))");
  EXPECT_EQ(error_of("(lp0\n."sv), error_of(""));  // protocol 0
  EXPECT_EQ(error_of("\x80\x09N."sv), "x.pkl: byte 0: unsupported pickle protocol 9");
  EXPECT_EQ(error_of("\x80\x04X\xff\x00\x00\x00"
                     "ab."sv),
            "x.pkl: byte 2: truncated: the data ends inside an opcode");
  EXPECT_EQ(error_of("\x80\x04"
                     "a."sv),
            "x.pkl: byte 2: stack underflow");
  EXPECT_EQ(error_of("\x80\x04NN."sv), "x.pkl: byte 4: STOP with 2 objects on the stack");
  EXPECT_EQ(error_of("\x80\x04h\x05."sv), "x.pkl: byte 2: memo key 5 was never stored");
  EXPECT_EQ(error_of("\x80\x04"
                     "N"sv),
            "x.pkl: byte 3: truncated: the data ends inside an opcode");
  EXPECT_EQ(error_of("\x80\x04}(]Nu."sv), "x.pkl: a dict key is not a str, int or bool");
  EXPECT_EQ(error_of("\x80\x04\x93."sv).substr(0, 36), "x.pkl: byte 2: unsupported opcode 0x");
  // A list or dict that contains itself cannot become JSON. (The reader frees it all the same:
  // fuzz_pickle's LeakSanitizer found the cycle leaking, docs/FUZZING.md.)
  EXPECT_EQ(error_of("\x80\x04]\x94h\x00"
                     "a."sv),
            "x.pkl: objects nested deeper than 200 levels");
  EXPECT_EQ(error_of("\x80\x04}\x94(\x8c\x01\x61h\x00u."sv), "x.pkl: objects nested deeper than 200 levels");
  std::vector<std::byte> dict = bytes_of("\x80\x04}\x94."sv);
  EXPECT_THROW(read_pickle_list(dict, "d.pkl", [](const PickleValue&) { return true; }),
               Error);  // not a list
}

TEST(Pickle, EveryTruncationOrByteFlipIsAnErrorNotACrash) {
  const MappedFile file(test::fixture("data/mixed.pkl"));
  const std::vector<std::byte> bytes(file.bytes().begin(), file.bytes().end());
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_THROW(read_pickle(std::span(bytes.data(), length), "cut.pkl"), Error) << length;
  }
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::vector<std::byte> flipped = bytes;
    flipped[i] ^= std::byte{0xFF};
    try {
      read_pickle(flipped, "flipped.pkl");
    } catch (const Error&) {
      // Malformed input must surface as remedi::Error; anything else fails the test.
    }
  }
}

}  // namespace
}  // namespace remedi::io
