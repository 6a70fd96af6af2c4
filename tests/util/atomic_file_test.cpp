// AtomicOutputFile (util/atomic_file.h): the target holds the old or the complete new contents, and
// no temporary file outlives its writer, even one killed before it could clean up.
#include "util/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicOutputFile, CommitReplacesTheTargetAndLeavesNoTemporaryFile) {
  const std::string dir = test::temp_dir("atomic_commit");
  const std::string target = dir + "/out.json";
  test::write_file(target, "old");
  {
    AtomicOutputFile out(target);
    out.write("new ");
    out.write("contents");
    EXPECT_EQ(read_text_file(target), "old");  // not yet
    out.commit();
  }
  EXPECT_EQ(read_text_file(target), "new contents");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.json"});
}

TEST(AtomicOutputFile, AWriterDroppedBeforeCommitLeavesTheTargetAlone) {
  const std::string dir = test::temp_dir("atomic_abandon");
  const std::string target = dir + "/out.json";
  test::write_file(target, "old");
  {
    AtomicOutputFile out(target);
    out.write("half");
  }
  EXPECT_EQ(read_text_file(target), "old");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.json"});
}

// A full disk, as a file-size limit (no root or small tmpfs needed): the write fails with a named
// error, the old target stays and the temporary file is gone. Run in a child process so that the
// limit does not outlive the test; the child's exit code says what it saw.
TEST(AtomicOutputFile, AFullDiskIsANamedErrorAndLeavesNoTemporaryFile) {
  const std::string dir = test::temp_dir("atomic_full");
  const std::string target = dir + "/checkpoint.pt";
  test::write_file(target, "old");
  const pid_t child = ::fork();
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead of killing
    const rlimit limit{4096, 4096};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    try {
      AtomicOutputFile out(target);
      out.write(std::string(1 << 20, 'x'));
      out.commit();
      ::_exit(11);  // the write should have failed
    } catch (const Error& e) {
      const std::string expected = target + ": write failed: File too large";
      ::_exit(std::string(e.what()) == expected ? 0 : 12);
    }
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: no limit, 11: no error, 12: another message";
  EXPECT_EQ(read_text_file(target), "old");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"checkpoint.pt"});
}

TEST(AtomicOutputFile, TheNextWriterRemovesWhatKilledWritersLeft) {
  const std::string dir = test::temp_dir("atomic_killed");
  const std::string target = dir + "/out.json";
  // A process that has ended: its pid names no process (until the kernel reuses it).
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string dead = std::to_string(child);
  const std::string live = std::to_string(::getpid());  // a writer still running
  const std::vector<std::string> removed{"out.json.tmp." + dead + ".Ab12Cd",
                                         "args-20260101-120000.json.tmp." + dead + ".x9YzQ1"};
  std::vector<std::string> kept{"out.json.tmp." + live + ".Ef34Gh", "out.json.tmp.notapid",
                                "other.tmp." + dead + ".toolongsuffix", "notes.txt"};
  for (const std::string& name : removed) test::write_file(dir + "/" + name, "partial");
  for (const std::string& name : kept) test::write_file(dir + "/" + name, "partial");
  AtomicOutputFile out(target);
  out.write("done");
  out.commit();
  kept.push_back("out.json");
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(names_in(dir), kept);
}

TEST(CreateFolders, MakesParentsAndNamesAFolderItCannotMake) {
  const std::string dir = test::temp_dir("create_folders");
  create_folders(dir + "/a/b/c");
  EXPECT_TRUE(fs::is_directory(dir + "/a/b/c"));
  create_folders(dir + "/a/b/c");  // already there: nothing to do
  test::write_file(dir + "/file", "in the way");
  try {
    create_folders(dir + "/file/sub");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), dir + "/file/sub");
    EXPECT_EQ(e.field(), "");
    EXPECT_EQ(e.reason().rfind("cannot create the folder: ", 0), 0U) << e.reason();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace remedi
