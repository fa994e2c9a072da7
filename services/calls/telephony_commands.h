// WatchTelephonyCommands: the commands one telephony adapter must carry out on the media path
// (bridge, hold, hang up, overflow, monitor), issued by the scripts (scripts/lib.lua,
// send_command) and kept in Redis until the adapter acknowledges them.
//
// A stream first re-sends every command of its adapter not acknowledged yet (oldest first),
// then new ones as the replica's change-log tail (LiveViews) sees them, so a stream may be open
// on any replica and survives none: an adapter that reconnects anywhere gets what it missed.
// Each command is delivered at least once; adapters deduplicate by command_id. One stream per
// adapter: opening another ends the older one with ABORTED, on whichever replica it is. While
// the stream is open its replica keeps the adapter alive in Redis; an adapter without a stream
// for longer than the adapter timeout is presumed dead by the sweep (scripts/sweep.lua).
#pragma once

#include <google/protobuf/struct.pb.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contactcentre/calls/v1/calls_service.pb.h"
#include "services/calls/live_views.h"
#include "services/calls/router.h"

namespace contactcentre::calls {

// A command as Redis keeps it (the hash "cmd:<id>", or the body of a "tel_command" change).
v1::TelephonyCommand TelephonyCommandFromSnapshot(absl::string_view command_id,
                                                  const google::protobuf::Struct& body);

// Opens one adapter's command stream. Fails the stream with INVALID_ARGUMENT
// ("telephony_adapter: required") or UNAVAILABLE when Redis cannot be reached.
grpc::ServerWriteReactor<v1::TelephonyCommand>* OpenTelephonyCommandStream(
    LiveViews* views, const Router* router, const v1::WatchTelephonyCommandsRequest& request,
    absl::Duration adapter_timeout);

}  // namespace contactcentre::calls
