#include "common/status.h"

#include <gtest/gtest.h>

namespace contactcentre::common {
namespace {

absl::StatusOr<int> Half(int value) {
  if (value % 2 != 0) return InvalidArgumentError("value", "must be even");
  return value / 2;
}

absl::StatusOr<int> Quarter(int value) {
  CC_ASSIGN_OR_RETURN(int half, Half(value));
  CC_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int value) {
  CC_RETURN_IF_ERROR(Half(value).status());
  return absl::OkStatus();
}

TEST(StatusTest, InvalidArgumentNamesTheField) {
  absl::Status status = InvalidArgumentError("caller_number", "not a possible phone number");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid caller_number: not a possible phone number");
}

TEST(StatusTest, MacrosPropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  absl::StatusOr<int> odd = Quarter(6);  // 6 -> 3 -> error
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusTest, GrpcMappingKeepsCodeAndMessage) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kAlreadyExists, absl::StatusCode::kFailedPrecondition,
        absl::StatusCode::kAborted, absl::StatusCode::kUnavailable,
        absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kResourceExhausted}) {
    absl::Status original(code, "details");
    grpc::Status mapped = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(mapped.error_code()), static_cast<int>(code));
    EXPECT_EQ(mapped.error_message(), "details");
    EXPECT_EQ(FromGrpcStatus(mapped), original);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusTest, AnnotateKeepsCode) {
  absl::Status status = Annotate(absl::NotFoundError("no row"), "loading queue 7");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "loading queue 7: no row");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace contactcentre::common
