#include "tools/ccctl/resources.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace contactcentre::ccctl {

const google::protobuf::Descriptor& Resource::type() const {
  return *method(get_method)->output_type();
}

const google::protobuf::MethodDescriptor* Resource::method(const std::string& name) const {
  if (name.empty() || grpc_service == nullptr) return nullptr;
  return grpc_service->FindMethodByName(name);
}

std::string Resource::FullName(absl::string_view id) const {
  if (id.find('/') != absl::string_view::npos) return std::string(id);
  return absl::StrCat(collection, "/", id);
}

const std::vector<Resource>& AllResources() {
  static const std::vector<Resource>* const resources = [] {
    auto* all = new std::vector<Resource>();
    for (auto group : {CallsResources, CustomersResources, KnowledgeResources, SurveysResources}) {
      for (Resource& resource : group()) all->push_back(std::move(resource));
    }
    return all;
  }();
  return *resources;
}

const Resource* FindResource(absl::string_view name) {
  for (const Resource& resource : AllResources()) {
    if (resource.plural == name || std::find(resource.aliases.begin(), resource.aliases.end(),
                                             name) != resource.aliases.end()) {
      return &resource;
    }
  }
  return nullptr;
}

}  // namespace contactcentre::ccctl
