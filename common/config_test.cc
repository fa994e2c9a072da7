#include "common/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "absl/flags/flag.h"

ABSL_FLAG(int, config_test_port, 7, "a flag for the test");
ABSL_FLAG(std::string, config_test_name, "default", "a flag for the test");

namespace contactcentre::common {
namespace {

TEST(ConfigTest, EnvironmentNames) {
  EXPECT_EQ(EnvironmentNameForFlag("listen"), "CC_LISTEN");
  EXPECT_EQ(EnvironmentNameForFlag("pg_pool_size"), "CC_PG_POOL_SIZE");
}

TEST(ConfigTest, CommandLineWinsOverEnvironmentWhichWinsOverDefault) {
  setenv("CC_CONFIG_TEST_PORT", "9000", 1);
  setenv("CC_CONFIG_TEST_NAME", "from-env", 1);
  setenv("CC_NOT_A_FLAG_AT_ALL", "ignored", 1);
  char arg0[] = "test";
  char arg1[] = "--config_test_name=from-command-line";
  char* argv[] = {arg0, arg1, nullptr};
  std::vector<char*> rest = ParseFlagsWithEnvironment(2, argv, "usage");
  EXPECT_EQ(rest.size(), 1u);
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_port), 9000);
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_name), "from-command-line");
  unsetenv("CC_CONFIG_TEST_PORT");
  unsetenv("CC_CONFIG_TEST_NAME");
  unsetenv("CC_NOT_A_FLAG_AT_ALL");
}

TEST(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  setenv("CC_CONFIG_TEST_PORT", "not-a-number", 1);
  absl::Status status = ApplyEnvironmentToFlags();
  unsetenv("CC_CONFIG_TEST_PORT");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("CC_CONFIG_TEST_PORT"), std::string::npos) << status;
}

}  // namespace
}  // namespace contactcentre::common
