#include "common/event_stream.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace contactcentre::common {
namespace {

TEST(EventStreamTest, KeysShareTheSiteHashTag) {
  EXPECT_EQ(EventStreamKey("msk"), "cc:{msk}:events");
  EXPECT_EQ(DeadLetterStreamKey("msk"), "cc:{msk}:events:dead");
}

TEST(EventStreamTest, TypeNameIsThePayloadField) {
  events::v1::Event event;
  EXPECT_EQ(EventTypeName(event), "");
  event.mutable_call_offered()->mutable_call()->set_call("calls/1");
  EXPECT_EQ(EventTypeName(event), "call_offered");
  event.mutable_operator_state_changed();
  EXPECT_EQ(EventTypeName(event), "operator_state_changed");
}

TEST(EventStreamTest, PrepareFillsTheEnvelope) {
  EventPublisher publisher(nullptr, {.site = "msk", .producer = "services/calls"});
  events::v1::Event event;
  event.mutable_call_abandoned()->mutable_call()->set_call("calls/9");
  absl::StatusOr<std::string> serialized = publisher.Prepare(event);
  ASSERT_TRUE(serialized.ok()) << serialized.status();
  EXPECT_TRUE(IdTime(event.id()).ok()) << event.id();
  EXPECT_EQ(event.site(), "msk");
  EXPECT_EQ(event.producer(), "services/calls");
  EXPECT_GT(event.occurred_at().seconds(), 1'700'000'000);
  events::v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(*serialized));
  EXPECT_EQ(parsed.id(), event.id());
  EXPECT_EQ(parsed.call_abandoned().call().call(), "calls/9");

  const auto command = publisher.XaddCommand(event, *serialized);
  EXPECT_EQ(command[0], "XADD");
  EXPECT_EQ(command[1], "cc:{msk}:events");
  EXPECT_EQ(command[7], "call_abandoned");
}

TEST(EventStreamTest, PrepareKeepsGivenIdAndRejectsEmptyPayload) {
  EventPublisher publisher(nullptr, {.site = "msk", .producer = "services/calls"});
  events::v1::Event event;
  EXPECT_EQ(publisher.Prepare(event).status().code(), absl::StatusCode::kInvalidArgument);
  event.set_id("given");
  event.set_site("spb");
  event.mutable_customer_erased()->set_customer("customers/1");
  ASSERT_TRUE(publisher.Prepare(event).ok());
  EXPECT_EQ(event.id(), "given");
  EXPECT_EQ(event.site(), "spb");
}

}  // namespace
}  // namespace contactcentre::common
