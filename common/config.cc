#include "common/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace contactcentre::common {

std::string EnvironmentNameForFlag(absl::string_view flag_name) {
  return absl::StrCat("CC_", absl::AsciiStrToUpper(flag_name));
}

absl::Status ApplyEnvironmentToFlags() {
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view variable(*entry);
    if (!absl::StartsWith(variable, "CC_")) continue;
    const size_t equals = variable.find('=');
    if (equals == absl::string_view::npos) continue;
    const std::string flag_name = absl::AsciiStrToLower(variable.substr(3, equals - 3));
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(flag_name);
    if (flag == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(variable.substr(equals + 1), &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", variable.substr(0, equals), ": ", error));
    }
  }
  return absl::OkStatus();
}

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv, absl::string_view usage) {
  // --help lists the suite's own flags (defined in common/, services/, tools/), not Abseil's.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "common/") || absl::StrContains(path, "services/") ||
           absl::StrContains(path, "tools/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      absl::StrCat(usage,
                   "\n\nEvery flag --name may also be set by the environment variable CC_NAME "
                   "(upper case); the command line wins."));
  if (absl::Status status = ApplyEnvironmentToFlags(); !status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    std::exit(2);
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace contactcentre::common
