#include "data/sample.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"
#include "util/error.h"

namespace remedi::data {
namespace {

MediationSample example_sample() {
  MediationSample sample;
  sample.id = "0";
  sample.entity = "Danielle Darrieux";
  sample.attribute = "is English";
  sample.context = "The mother tongue of Danielle Darrieux is English";
  sample.prompt = "Danielle Darrieux, speaker of";
  sample.target_mediated = "English";
  sample.target_unmediated = "French";
  sample.source = Json::parse(R"({"case_id": 0, "note": "caf\u00e9 \"quoted\"\nline"})");
  return sample;
}

void expect_same(const MediationSample& a, const MediationSample& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.entity, b.entity);
  EXPECT_EQ(a.attribute, b.attribute);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.target_mediated, b.target_mediated);
  EXPECT_EQ(a.target_unmediated, b.target_unmediated);
  EXPECT_EQ(a.source, b.source);
}

TEST(Samples, JsonLinesRoundTripKeepsFieldsAndKeyOrder) {
  MediationSample without_prior = example_sample();
  without_prior.id = "1";
  without_prior.target_unmediated.reset();
  const std::vector<MediationSample> samples = {example_sample(), without_prior};
  const std::string text = samples_to_jsonl(samples);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_TRUE(
      text.starts_with(R"({"id":"0","entity":"Danielle Darrieux","attribute":"is English","context":)"));
  EXPECT_NE(text.find(R"("target_unmediated":null)"), std::string::npos);

  const std::string dir = test::temp_dir("samples");
  write_samples(dir + "/out.jsonl", samples);
  const std::vector<MediationSample> read = read_samples(dir + "/out.jsonl");
  ASSERT_EQ(read.size(), 2U);
  expect_same(read[0], samples[0]);
  expect_same(read[1], samples[1]);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temporary left
  std::filesystem::remove_all(dir);
}

TEST(Samples, ReadsTheOriginalsBackToBackObjects) {
  // The original's json.dump loop: no separators; braces inside strings must not confuse the reader.
  const std::string first =
      R"({"id": "a", "entity": "E", "attribute": "x }{", "context": "E x }{", )"
      R"("prompt": "E", "target_mediated": "t", "target_unmediated": null, "source": {"k": [1, {"z": "\"}"}]}})";
  const std::string second =
      R"({"id": "b", "entity": "F", "attribute": "y", "context": "F y", "prompt": "F", )"
      R"("target_mediated": "u", "target_unmediated": "v", "source": {}})";
  const std::vector<MediationSample> samples = parse_samples(first + second + "\n" + first, "cf.jsonl");
  ASSERT_EQ(samples.size(), 3U);
  EXPECT_EQ(samples[0].attribute, "x }{");
  EXPECT_EQ(samples[0].source["k"][1]["z"], "\"}");
  EXPECT_EQ(samples[1].target_unmediated, "v");
  EXPECT_EQ(samples[2].id, "a");
}

TEST(Samples, BadRecordsNameFileRecordAndLine) {
  const std::string good =
      R"({"id":"a","entity":"E","attribute":"x","context":"E x","prompt":"E","target_mediated":"t"})";
  const auto message = [](const std::string& text) {
    try {
      parse_samples(text, "bad.jsonl");
    } catch (const Error& e) {
      EXPECT_EQ(e.file(), "bad.jsonl");
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(good + "\n" + R"({"id":"b"})"), "bad.jsonl: record 1 (line 2).entity: missing");
  EXPECT_EQ(message(good + "\n\n" + R"({"id":5})"),
            "bad.jsonl: record 1 (line 3).id: expected a string, got 5");
  EXPECT_EQ(message("[1, 2]"), "bad.jsonl: record 0 (line 1): expected a JSON object starting with '{'");
  EXPECT_EQ(message(good + "\n{\"id\": \"c\""),
            "bad.jsonl: record 1 (line 2): the JSON object is not closed before the end of the file");
  EXPECT_NE(message("{\"id\": tru}").find("record 0 (line 1): invalid JSON"), std::string::npos);
  // A number too large for a double is the parser's out_of_range, not a parse_error (fuzz_datasets).
  EXPECT_NE(message("{\"id\": 1e999}").find("record 0 (line 1): invalid JSON"), std::string::npos);
  // Blank text is refused (it would be trained on); a null target_unmediated is "none given".
  std::string blank_target = good;
  blank_target.replace(blank_target.find("\"t\""), 3, "\" \"");
  EXPECT_EQ(message(blank_target), "bad.jsonl: record 0 (line 1).target_mediated: is empty");
  EXPECT_EQ(message(good.substr(0, good.size() - 1) + R"(,"target_unmediated":""})"),
            "bad.jsonl: record 0 (line 1).target_unmediated: is empty");
  EXPECT_EQ(
      parse_samples(good.substr(0, good.size() - 1) + R"(,"target_unmediated":null})", "ok.jsonl").size(),
      1U);
  EXPECT_EQ(parse_samples(" \n\t", "empty.jsonl").size(), 0U);
  EXPECT_THROW(read_samples("/nonexistent/samples.jsonl"), Error);
}

TEST(Samples, EveryTruncationIsAnErrorOrFewerRecords) {
  const std::string text = samples_to_jsonl({example_sample(), example_sample()});
  for (std::size_t length = 0; length + 1 < text.size(); ++length) {  // all but the final "\n"
    try {
      EXPECT_LT(parse_samples(text.substr(0, length), "cut.jsonl").size(), 2U);
    } catch (const Error&) {
      // Malformed input must surface as remedi::Error.
    }
  }
}

TEST(Samples, FailedWriteLeavesNoFile) {
  const std::string dir = test::temp_dir("samples-fail");
  MediationSample bad = example_sample();
  bad.context = "invalid \xff UTF-8";
  EXPECT_THROW(write_samples(dir + "/out.jsonl", {example_sample(), bad}), Error);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  EXPECT_THROW(write_samples(dir + "/missing/out.jsonl", {example_sample()}), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi::data
