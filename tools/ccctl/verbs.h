// get, list, create and delete of any resource (resources.h), written once over reflection.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/ccctl/output.h"
#include "tools/ccctl/resources.h"
#include "tools/ccctl/rpc.h"

namespace contactcentre::ccctl {

struct VerbOptions {
  OutputFormat format = OutputFormat::kTable;
  // "field=value" assignments (--set and positional): on the resource for create (falling back
  // to the request for fields the resource does not have, e.g. change_note), on the request
  // for get, list (filters such as site=main) and delete (force=true).
  std::vector<std::string> assignments;
  // -f: a JSON file (protobuf JSON mapping) of one resource or an array of them, for create.
  std::string file;
  // list: at most this many items (0 = all); each page asks for at most page_size.
  int limit = 0;
  int page_size = 100;
  // create: the site of items that have a `site` field and were given none (--site, CC_SITE).
  std::string site;
};

absl::Status GetVerb(Clients& clients, const Resource& resource, const std::string& id,
                     const VerbOptions& options);
absl::Status ListVerb(Clients& clients, const Resource& resource, const VerbOptions& options);
absl::Status CreateVerb(Clients& clients, const Resource& resource, const VerbOptions& options);
// Sends the assignments as an update: the item named `id` with the assigned fields, and an
// update_mask of their top-level field names. An assignment of a field the item lacks goes to
// the request (etag=..., change_note=...).
absl::Status UpdateVerb(Clients& clients, const Resource& resource, const std::string& id,
                        const VerbOptions& options);
absl::Status DeleteVerb(Clients& clients, const Resource& resource, const std::string& id,
                        const VerbOptions& options);

// Sets a string field of the request by name when the request has it and it is empty
// ("request_id" gets a new id so a retried ccctl command is a different request).
void SetRequestId(google::protobuf::Message& request);

// Sets the string field `site` of `item` to `site` when the item has such a field left empty.
void FillDefaultSite(google::protobuf::Message& item, const std::string& site);

// Prints `messages` in the chosen format on stdout.
void PrintMessages(const Resource& resource,
                   const std::vector<const google::protobuf::Message*>& messages,
                   OutputFormat format, bool as_list);

}  // namespace contactcentre::ccctl
