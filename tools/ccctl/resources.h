// The resources ccctl knows: which service and methods serve each, how its table looks and
// which CSV columns its import takes. One file per service group fills them in
// (resources_calls.cc, resources_customers.cc, resources_knowledge.cc, resources_surveys.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "tools/ccctl/output.h"

namespace contactcentre::ccctl {

struct Resource {
  // The command's name ("queues") and other spellings accepted for it ("queue", "q").
  std::string plural;
  std::vector<std::string> aliases;
  // The service whose address is used: "calls", "customers", "surveys", "knowledge".
  std::string service;
  // Resource names are "<collection>/<id>" ("queues/0193...").
  std::string collection;
  // The gRPC service and the names of its methods; an empty name: the verb is not offered.
  const google::protobuf::ServiceDescriptor* grpc_service = nullptr;
  std::string get_method;
  std::string list_method;
  std::string create_method;
  std::string delete_method;
  // Update<Resource>(item, update_mask): `ccctl <resource> update <id> field=value ...`.
  std::string update_method;
  // Columns of `-o table`.
  std::vector<Column> columns;
  // The client-streaming bulk method used by `ccctl import` ("" = one create per row), and how
  // many rows go in one of its messages.
  std::string import_method;
  int import_batch = 200;
  // CSV header names that stand for a longer field path ("phones" -> "phones.number.raw").
  std::map<std::string, std::string> csv_aliases;
  // The CSV columns, for --help and the docs.
  std::string csv_help;
  // Assignments applied to every list request before the user's ("parent=queues/-").
  std::vector<std::string> list_defaults;

  // The resource message (the output type of the get method).
  const google::protobuf::Descriptor& type() const;
  // The method named `name`; null when empty or missing.
  const google::protobuf::MethodDescriptor* method(const std::string& name) const;
  // "queues/x" for "x"; a name with a slash is kept.
  std::string FullName(absl::string_view id) const;
};

std::vector<Resource> CallsResources();
std::vector<Resource> CustomersResources();
std::vector<Resource> KnowledgeResources();
std::vector<Resource> SurveysResources();

// Every resource, in the order of --help.
const std::vector<Resource>& AllResources();

// By plural or alias; null when unknown.
const Resource* FindResource(absl::string_view name);

}  // namespace contactcentre::ccctl
