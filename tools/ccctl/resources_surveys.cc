// Resources of the surveys service: surveys (SurveyService).
#include "contactcentre/surveys/v1/survey_service.pb.h"
#include "tools/ccctl/resources.h"

namespace contactcentre::ccctl {

std::vector<Resource> SurveysResources() {
  std::vector<Resource> resources;
  resources.push_back({
      .plural = "surveys",
      .aliases = {"survey"},
      .service = "surveys",
      .collection = "surveys",
      .grpc_service =
          surveys::v1::GetSurveyRequest::descriptor()->file()->FindServiceByName("SurveyService"),
      .get_method = "GetSurvey",
      .list_method = "ListSurveys",
      .create_method = "CreateSurvey",
      .delete_method = "DeleteSurvey",
      .update_method = "UpdateSurvey",
      .columns = {{"ID", "id"},
                  {"DISPLAY_NAME", "display_name"},
                  {"STATE", "state"},
                  {"LATEST_VERSION", "latest_version"},
                  {"UPDATED", "update_time"}},
      .csv_help = "display_name, labels (key=value;key=value), draft (JSON of the "
                  "SurveyDefinition)",
  });
  return resources;
}

}  // namespace contactcentre::ccctl
