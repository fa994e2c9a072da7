#include "tools/ccctl/rpc.h"

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_client.h"
#include "google/protobuf/message.h"

namespace contactcentre::ccctl {

std::shared_ptr<grpc::Channel> Clients::Channel(const std::string& service) {
  auto found = channels_.find(service);
  if (found != channels_.end()) return found->second;
  auto address = targets_.addresses.find(service);
  const std::string target = address == targets_.addresses.end() ? "" : address->second;
  auto channel = common::MakeChannel(target);
  channels_[service] = channel;
  return channel;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Clients::Connected(const std::string& service) {
  std::shared_ptr<grpc::Channel> channel = Channel(service);
  if (connected_[service]) return channel;
  const absl::Time deadline = absl::Now() + targets_.connect_timeout;
  if (!channel->WaitForConnected(absl::ToChronoTime(deadline))) {
    auto address = targets_.addresses.find(service);
    return absl::UnavailableError(
        absl::StrCat("no connection to the ", service, " service at ",
                     address == targets_.addresses.end() ? "" : address->second, " within ",
                     absl::FormatDuration(targets_.connect_timeout), " (set --", service,
                     "_address or CC_", absl::AsciiStrToUpper(service), "_ADDRESS)"));
  }
  connected_[service] = true;
  return channel;
}

absl::Status Clients::Unary(const std::string& service,
                            const google::protobuf::MethodDescriptor& method,
                            const google::protobuf::Message& request,
                            google::protobuf::Message& response) {
  std::string serialized;
  if (!request.SerializeToString(&serialized)) {
    return absl::InternalError("the request does not serialize");
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connected(service);
  if (!channel.ok()) return channel.status();
  grpc::GenericStub stub(*channel);
  auto context = common::ContextWithTimeout(targets_.timeout);
  grpc::Slice slice(serialized);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(context.get(),
                 absl::StrCat("/", method.service()->full_name(), "/", method.name()),
                 grpc::StubOptions(), &request_buffer, &response_buffer, [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!result.ok()) return FromGrpc(result);
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) return absl::InternalError("unreadable response");
  std::string bytes;
  for (const grpc::Slice& part : slices) {
    bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  if (!response.ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat("the response of ", method.name(), " does not parse"));
  }
  return absl::OkStatus();
}

std::unique_ptr<google::protobuf::Message> NewMessage(
    const google::protobuf::Descriptor& descriptor) {
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(&descriptor);
  return std::unique_ptr<google::protobuf::Message>(prototype->New());
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string ErrorText(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

}  // namespace contactcentre::ccctl
