#include "common/status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace contactcentre::common {

absl::Status InvalidArgumentError(absl::string_view field_path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("invalid ", field_path, ": ", problem));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace contactcentre::common
