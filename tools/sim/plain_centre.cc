#include "tools/sim/plain_centre.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_client.h"
#include "common/status.h"
#include "contactcentre/calls/v1/admin_service.grpc.pb.h"
#include "google/protobuf/util/time_util.h"

namespace contactcentre::sim {

namespace calls = ::contactcentre::calls::v1;
using AdminStub = calls::CallsAdminService::Stub;
using google::protobuf::util::TimeUtil;

absl::StatusOr<DemoCentre> CreatePlainCentre(const PlainCentreOptions& options,
                                             const SuiteChannels& channels) {
  if (options.operators < 1) return absl::InvalidArgumentError("operators: must be at least 1");
  auto admin = calls::CallsAdminService::NewStub(channels.calls);
  const std::string key = absl::StrCat("sim-plain-", options.prefix);

  calls::CreateQueueRequest create_queue;
  calls::Queue* queue = create_queue.mutable_queue();
  queue->set_display_name(absl::StrCat(options.prefix, " queue"));
  queue->set_site(options.site);
  queue->set_strategy(calls::QUEUE_STRATEGY_LONGEST_IDLE);
  *queue->mutable_ring_timeout() = TimeUtil::SecondsToDuration(15);
  *queue->mutable_wrap_up_time_limit() = TimeUtil::SecondsToDuration(60);
  *queue->mutable_service_level_threshold() =
      TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(options.service_level_threshold));
  calls::DispositionCode* resolved = queue->add_disposition_codes();
  resolved->set_code("resolved");
  resolved->set_label("Resolved");
  create_queue.set_request_id(absl::StrCat(key, "-queue"));
  CC_ASSIGN_OR_RETURN(calls::Queue created_queue,
                      common::UnaryCall(*admin, &AdminStub::CreateQueue, create_queue));

  DemoCentre centre;
  centre.language = "en";
  centre.site = options.site;
  DemoQueue& plain = centre.queues.emplace_back();
  plain.name = created_queue.name();
  plain.display_name = created_queue.display_name();
  plain.traffic_share = 1;
  plain.mean_talk_time = options.mean_talk_time;
  plain.mean_wrap_up_time = absl::ZeroDuration();
  plain.service_level_threshold = options.service_level_threshold;
  plain.dispositions = {"resolved"};
  plain.topics = {"consultation"};

  const std::string login_prefix = absl::AsciiStrToLower(options.prefix);
  for (int i = 0; i < options.operators; ++i) {
    calls::CreateOperatorRequest create_operator;
    calls::Operator* op = create_operator.mutable_operator_();
    op->set_display_name(absl::StrCat(options.prefix, " operator ", i + 1));
    op->set_login(absl::StrCat(login_prefix, ".op", i + 1));
    op->set_role(calls::OPERATOR_ROLE_OPERATOR);
    op->set_site(options.site);
    op->set_endpoint(absl::StrCat("sip:", login_prefix, "-", i + 1, "@sim"));
    create_operator.set_request_id(absl::StrCat(key, "-operator-", i));
    CC_ASSIGN_OR_RETURN(calls::Operator created,
                        common::UnaryCall(*admin, &AdminStub::CreateOperator, create_operator));
    calls::CreateQueueMembershipRequest join;
    join.set_parent(created_queue.name());
    join.mutable_membership()->set_operator_(created.name());
    join.mutable_membership()->set_tier(1);
    join.set_request_id(absl::StrCat(key, "-member-", i));
    CC_RETURN_IF_ERROR(common::UnaryCall(*admin, &AdminStub::CreateQueueMembership, join).status());
    DemoOperator& demo = centre.operators.emplace_back();
    demo.name = created.name();
    demo.display_name = created.display_name();
  }
  return centre;
}

}  // namespace contactcentre::sim
