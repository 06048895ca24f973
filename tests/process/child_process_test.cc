// The child-process runner the process, client and load tests share (tests/testing/): what the
// child inherits (no stray descriptors, the environment as asked), and how its end is seen.
#include "tests/testing/child_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/testing/tls_certs.h"

namespace agentgateway::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kBound = std::chrono::seconds(30);

ChildOptions Shell(const std::string& script) { return {.argv = {"/bin/sh", "-c", script}}; }

TEST(ChildProcessTest, TheChildInheritsNoDescriptorOfTheTest) {
  // Like an Asio socket: not close-on-exec.
  const int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(socket_fd, 3);
  RunResult r = RunProgram(Shell("ls /proc/$$/fd; [ ! -e /proc/$$/fd/" +
                                 std::to_string(socket_fd) + " ]"));
  ::close(socket_fd);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "0\n1\n2\n") << "only stdin, stdout and stderr";
}

TEST(ChildProcessTest, EnvironmentDropsPrefixesAndSetsValues) {
  RunResult r = RunProgram({.argv = {"/usr/bin/env"},
                            .drop_env_prefixes = {"PATH="},
                            .env = {{"HOME", "/child-home"}}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string lines = "\n" + r.out;
  EXPECT_THAT(lines, Not(HasSubstr("\nPATH=")));
  EXPECT_THAT(lines, HasSubstr("\nHOME=/child-home\n"));
  EXPECT_EQ(lines.find("\nHOME="), lines.rfind("\nHOME=")) << "replaced, not added: " << r.out;
}

TEST(ChildProcessTest, OutputIsCapturedOrStderrWrittenToAFile) {
  RunResult captured = RunProgram(Shell("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(captured.exit_code, 3);
  EXPECT_EQ(captured.out, "out\n");
  EXPECT_EQ(captured.err, "err\n");

  TempDir dir;
  ChildOptions options = Shell("echo out; echo to-file >&2");
  options.stderr_path = dir.File("stderr.log");
  RunResult filed = RunProgram(options);
  EXPECT_EQ(filed.exit_code, 0);
  EXPECT_EQ(filed.err, "");
  std::stringstream file;
  file << std::ifstream(options.stderr_path).rdbuf();
  EXPECT_EQ(file.str(), "to-file\n");
}

TEST(ChildProcessTest, WaitsOnOutputAndExitAndReportsSignals) {
  auto child = ChildProcess::Start(Shell("echo started; exec sleep 60"));
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->WaitForStdout("started", kBound));
  EXPECT_FALSE((*child)->WaitForStderr("never", std::chrono::milliseconds(50)));
  EXPECT_FALSE((*child)->Exited());
  EXPECT_EQ((*child)->WaitExit(std::chrono::milliseconds(50)), std::nullopt);
  (*child)->Signal(SIGTERM);
  EXPECT_EQ((*child)->WaitExit(kBound), std::optional<int>(128 + SIGTERM));
  EXPECT_TRUE((*child)->Exited());
}

TEST(ChildProcessTest, WaitKillsAChildThatOutlivesTheBound) {
  RunResult r = RunProgram(Shell("exec sleep 60"), std::chrono::milliseconds(100));
  EXPECT_EQ(r.exit_code, -1);
}

TEST(ChildProcessTest, AProgramThatCannotBeRunExits127) {
  RunResult r = RunProgram({.argv = {"/nonexistent/program"}});
  EXPECT_EQ(r.exit_code, 127);
}

}  // namespace
}  // namespace agentgateway::testing
