// Resources of the knowledge service: articles (ArticlesService) and the organisations
// directory (DirectoryService).
#include "contactcentre/knowledge/v1/articles.pb.h"
#include "contactcentre/knowledge/v1/directory.pb.h"
#include "tools/ccctl/resources.h"

namespace contactcentre::ccctl {

std::vector<Resource> KnowledgeResources() {
  std::vector<Resource> resources;
  resources.push_back({
      .plural = "articles",
      .aliases = {"article", "kb"},
      .service = "knowledge",
      .collection = "articles",
      .grpc_service = knowledge::v1::GetArticleRequest::descriptor()->file()->FindServiceByName(
          "ArticlesService"),
      .get_method = "GetArticle",
      .list_method = "ListArticles",
      .create_method = "CreateArticle",
      .delete_method = "DeleteArticle",
      .update_method = "UpdateArticle",
      .columns = {{"ID", "id"},
                  {"TITLE", "title"},
                  {"LANGUAGE", "language"},
                  {"STATE", "state"},
                  {"VERSION", "version"},
                  {"PRODUCT", "product"},
                  {"CATEGORY", "category"}},
      .import_method = "ImportArticles",
      .import_batch = 50,
      .csv_help = "title, summary, body, product, category, tags (;-separated), language (RU, "
                  "EN), state (DRAFT, PUBLISHED, ARCHIVED), external_id",
  });
  resources.push_back({
      .plural = "directory",
      .aliases = {"directory-entries", "directoryEntries", "org", "orgs"},
      .service = "knowledge",
      .collection = "directoryEntries",
      .grpc_service =
          knowledge::v1::GetDirectoryEntryRequest::descriptor()->file()->FindServiceByName(
              "DirectoryService"),
      .get_method = "GetDirectoryEntry",
      .list_method = "ListDirectoryEntries",
      .create_method = "CreateDirectoryEntry",
      .delete_method = "DeleteDirectoryEntry",
      .update_method = "UpdateDirectoryEntry",
      .columns = {{"ID", "id"},
                  {"DISPLAY_NAME", "display_name"},
                  {"CATEGORY", "category"},
                  {"CITY", "city"},
                  {"PHONES", "phones.number.e164"},
                  {"ADDRESS", "address"}},
      .import_method = "ImportDirectoryEntries",
      .import_batch = 500,
      .csv_aliases = {{"phones", "phones.number.raw"}},
      .csv_help = "display_name, alternative_names (;-separated), category (HOSPITAL, "
                  "PHARMACY, POLICE, ...), subcategory, phones (;-separated, as typed), email, "
                  "website, address, city, notes, external_id",
  });
  return resources;
}

}  // namespace contactcentre::ccctl
