// Configuration from flags, with CC_* environment overrides.
//
// Every flag `--foo_bar` may also be set as the environment variable CC_FOO_BAR (the way
// Kubernetes ConfigMaps and the local run scripts configure the services). Precedence: the
// command line, then the environment, then the flag's default. A bad value in either place
// stops the process before it listens.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace contactcentre::common {

// "listen" -> "CC_LISTEN".
std::string EnvironmentNameForFlag(absl::string_view flag_name);

// Applies CC_* environment variables that name a defined flag. Variables that name no flag are
// ignored (the scripts share one environment among several programs). Fails on a bad value,
// naming the variable.
absl::Status ApplyEnvironmentToFlags();

// Sets the usage message, applies the environment, then parses the command line. Exits with a
// message on a bad value. Returns the positional arguments (argv[0] first).
std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv, absl::string_view usage);

}  // namespace contactcentre::common
