// Resources of the customers service: customer cards (CustomersService).
#include "contactcentre/customers/v1/customers_service.pb.h"
#include "tools/ccctl/resources.h"

namespace contactcentre::ccctl {

std::vector<Resource> CustomersResources() {
  const google::protobuf::ServiceDescriptor* service =
      customers::v1::GetCustomerRequest::descriptor()->file()->FindServiceByName(
          "CustomersService");
  std::vector<Resource> resources;
  resources.push_back({
      .plural = "customers",
      .aliases = {"customer", "cust"},
      .service = "customers",
      .collection = "customers",
      .grpc_service = service,
      .get_method = "GetCustomer",
      .list_method = "ListCustomers",
      .create_method = "CreateCustomer",
      .delete_method = "DeleteCustomer",
      .update_method = "UpdateCustomer",
      .columns = {{"ID", "id"},
                  {"DISPLAY_NAME", "display_name"},
                  {"PHONES", "phones.number.e164"},
                  {"EMAILS", "emails.address"},
                  {"TAGS", "tags"},
                  {"EXTERNAL_ID", "external_id"},
                  {"STATE", "state"}},
      .import_method = "ImportCustomers",
      .import_batch = 500,
      .csv_aliases = {{"phones", "phones.number.raw"}, {"emails", "emails.address"}},
      .csv_help = "display_name, given_name, family_name, middle_name, phones (numbers as "
                  "typed, ;-separated: \"8 (495) 123-45-67;+7 916 000-00-00\"), emails "
                  "(;-separated), preferred_language (ru), time_zone (Europe/Moscow), tags "
                  "(;-separated), attributes (key=value;key=value), external_id",
  });
  return resources;
}

}  // namespace contactcentre::ccctl
