#include "services/analytics/settings.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/idempotency.h"
#include "common/page_token.h"
#include "common/pg_util.h"
#include "common/status.h"

namespace contactcentre::analytics {
namespace {

constexpr char kSuffix[] = "/metricSettings";

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

bool ValidId(absl::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == ':')) {
      return false;
    }
  }
  return true;
}

// "queues/q1/metricSettings" -> "queues/q1"; INVALID_ARGUMENT `field` otherwise.
absl::StatusOr<std::string> EntityOf(absl::string_view name, absl::string_view field) {
  absl::string_view rest = name;
  if (!absl::ConsumeSuffix(&rest, kSuffix)) {
    return Invalid(field, absl::StrCat("must be queues/{queue_id}/metricSettings or "
                                       "sites/{site}/metricSettings, not \"",
                                       name, "\""));
  }
  for (absl::string_view prefix : {"queues/", "sites/"}) {
    if (absl::StartsWith(rest, prefix) && ValidId(rest.substr(prefix.size()))) {
      return std::string(rest);
    }
  }
  return Invalid(field, absl::StrCat("malformed name \"", name, "\""));
}

google::protobuf::Duration ProtoDuration(absl::Duration duration) {
  google::protobuf::Duration out;
  out.set_seconds(absl::ToInt64Seconds(duration));
  out.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(out.seconds()))));
  return out;
}

absl::Duration FromProto(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

const BuiltMetric* StandardServiceLevel() { return DefaultDefinition("service_level"); }

std::string Etag(int64_t version) { return absl::StrCat("\"", version, "\""); }

constexpr const char* kFields[] = {"service_level_threshold", "short_abandon_threshold",
                                   "service_level_definition", "service_level_target",
                                   "asa_target"};

constexpr absl::string_view kSelectSettings =
    "SELECT name, service_level_threshold_seconds, short_abandon_threshold_seconds, "
    "service_level_definition, service_level_target, asa_target_seconds, version, "
    "(extract(epoch FROM update_time) * 1e6)::bigint FROM metric_settings WHERE version > 0";

OwnSettings ParseOwn(const pqxx::row& row) {
  OwnSettings own;
  if (!row[1].is_null()) own.service_level_threshold = absl::Seconds(row[1].as<double>());
  if (!row[2].is_null()) own.short_abandon_threshold = absl::Seconds(row[2].as<double>());
  if (!row[3].is_null()) own.service_level_definition = row[3].as<std::string>();
  if (!row[4].is_null()) own.service_level_target = row[4].as<double>();
  if (!row[5].is_null()) own.asa_target = absl::Seconds(row[5].as<double>());
  own.version = row[6].as<int64_t>();
  own.update_time = absl::FromUnixMicros(row[7].as<int64_t>());
  return own;
}

}  // namespace

EffectiveSettings SettingsSnapshot::Effective(const std::string& queue) const {
  EffectiveSettings out;
  out.thresholds = defaults;
  out.service_level = StandardServiceLevel();
  const OwnSettings* levels[2] = {nullptr, nullptr};
  if (auto it = own.find(site); it != own.end()) levels[0] = &it->second;
  if (!queue.empty()) {
    if (auto it = own.find(queue); it != own.end()) levels[1] = &it->second;
  }
  for (const OwnSettings* level : levels) {
    if (level == nullptr) continue;
    if (level->service_level_threshold) {
      out.thresholds.service_level = *level->service_level_threshold;
    }
    if (level->short_abandon_threshold) {
      out.thresholds.short_abandon = *level->short_abandon_threshold;
    }
    if (level->service_level_definition) {
      if (const BuiltMetric* metric = FindDefinition(*level->service_level_definition)) {
        out.service_level = metric;
      }
    }
    if (level->service_level_target) out.service_level_target = *level->service_level_target;
    if (level->asa_target) out.asa_target = level->asa_target;
  }
  return out;
}

bool SettingsSnapshot::AnyQueueDiffers() const {
  const EffectiveSettings of_site = Effective("");
  for (const auto& [name, unused] : own) {
    if (absl::StartsWith(name, "queues/") && !Effective(name).SameFormula(of_site)) return true;
  }
  return false;
}

SettingsStore::SettingsStore(common::PgPool* pg, std::string site, QueueThresholds defaults,
                             absl::Duration cache_ttl)
    : pg_(*pg), site_(absl::StrCat("sites/", site)), defaults_(defaults), cache_ttl_(cache_ttl) {}

absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> SettingsStore::Load() {
  auto snapshot = std::make_shared<SettingsSnapshot>();
  snapshot->site = site_;
  snapshot->defaults = defaults_;
  CC_RETURN_IF_ERROR(pg_.Query([&](pqxx::nontransaction& query) -> absl::Status {
    pqxx::result rows = query.exec(std::string(kSelectSettings));
    for (const pqxx::row& row : rows) snapshot->own[row[0].as<std::string>()] = ParseOwn(row);
    return absl::OkStatus();
  }));
  return snapshot;
}

absl::StatusOr<std::shared_ptr<const SettingsSnapshot>> SettingsStore::Snapshot() {
  {
    absl::MutexLock lock(&mutex_);
    if (cached_ != nullptr && absl::Now() - loaded_at_ < cache_ttl_) return cached_;
  }
  const absl::Time started = absl::Now();
  CC_ASSIGN_OR_RETURN(std::shared_ptr<const SettingsSnapshot> loaded, Load());
  absl::MutexLock lock(&mutex_);
  if (started >= loaded_at_) {
    cached_ = loaded;
    loaded_at_ = started;
  }
  return loaded;
}

v1::MetricSettings SettingsStore::ToProto(const std::string& entity, const OwnSettings* own,
                                          const SettingsSnapshot& snapshot) const {
  v1::MetricSettings out;
  out.set_name(absl::StrCat(entity, kSuffix));
  if (own != nullptr) {
    if (own->service_level_threshold) {
      *out.mutable_service_level_threshold() = ProtoDuration(*own->service_level_threshold);
    }
    if (own->short_abandon_threshold) {
      *out.mutable_short_abandon_threshold() = ProtoDuration(*own->short_abandon_threshold);
    }
    if (own->service_level_definition) {
      out.set_service_level_definition(*own->service_level_definition);
    }
    if (own->service_level_target) out.set_service_level_target(*own->service_level_target);
    if (own->asa_target) *out.mutable_asa_target() = ProtoDuration(*own->asa_target);
    *out.mutable_update_time() = common::TimestampFromTime(own->update_time);
  }
  out.set_etag(Etag(own == nullptr ? 0 : own->version));
  // Effective values and where each comes from. A site's settings are computed for this
  // replica's site; another site's inherit only the service's flags here.
  const bool is_queue = absl::StartsWith(entity, "queues/");
  const EffectiveSettings effective = is_queue          ? snapshot.Effective(entity)
                                      : entity == site_ ? snapshot.Effective("")
                                                        : [&] {
                                                            SettingsSnapshot other = snapshot;
                                                            other.site = entity;
                                                            return other.Effective("");
                                                          }();
  v1::EffectiveMetricSettings* e = out.mutable_effective();
  *e->mutable_service_level_threshold() = ProtoDuration(effective.thresholds.service_level);
  *e->mutable_short_abandon_threshold() = ProtoDuration(effective.thresholds.short_abandon);
  e->set_service_level_definition(effective.service_level->definition.name());
  e->set_service_level_target(effective.service_level_target);
  if (effective.asa_target) *e->mutable_asa_target() = ProtoDuration(*effective.asa_target);
  const OwnSettings* site_own = nullptr;
  const std::string site_name = is_queue ? site_ : entity;
  if (auto it = snapshot.own.find(site_name); it != snapshot.own.end()) site_own = &it->second;
  auto source = [&](auto member) {
    if (own != nullptr && (own->*member).has_value()) return is_queue ? "queue" : "site";
    if (is_queue && site_own != nullptr && (site_own->*member).has_value()) return "site";
    return "service";
  };
  (*e->mutable_sources())["service_level_threshold"] =
      source(&OwnSettings::service_level_threshold);
  (*e->mutable_sources())["short_abandon_threshold"] =
      source(&OwnSettings::short_abandon_threshold);
  (*e->mutable_sources())["service_level_definition"] =
      source(&OwnSettings::service_level_definition);
  (*e->mutable_sources())["service_level_target"] = source(&OwnSettings::service_level_target);
  (*e->mutable_sources())["asa_target"] = source(&OwnSettings::asa_target);
  return out;
}

absl::StatusOr<v1::MetricSettings> SettingsStore::Get(const v1::GetMetricSettingsRequest& request) {
  CC_ASSIGN_OR_RETURN(const std::string entity, EntityOf(request.name(), "name"));
  CC_ASSIGN_OR_RETURN(std::shared_ptr<const SettingsSnapshot> snapshot, Load());
  auto it = snapshot->own.find(entity);
  return ToProto(entity, it == snapshot->own.end() ? nullptr : &it->second, *snapshot);
}

absl::StatusOr<v1::ListMetricSettingsResponse> SettingsStore::List(
    const v1::ListMetricSettingsRequest& request) {
  CC_ASSIGN_OR_RETURN(const int32_t page_size, common::PageSize(request.page_size(), 50, 1000));
  CC_ASSIGN_OR_RETURN(const std::string cursor,
                      common::DecodePageToken(request.page_token(), "ListMetricSettings"));
  size_t offset = 0;
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &offset)) {
    return Invalid("page_token", "malformed");
  }
  CC_ASSIGN_OR_RETURN(std::shared_ptr<const SettingsSnapshot> snapshot, Load());
  // Sites first, then queues, by name.
  std::vector<const std::pair<const std::string, OwnSettings>*> ordered;
  for (const char* prefix : {"sites/", "queues/"}) {
    for (const auto& entry : snapshot->own) {
      const OwnSettings& own = entry.second;
      const bool any = own.service_level_threshold || own.short_abandon_threshold ||
                       own.service_level_definition || own.service_level_target || own.asa_target;
      if (any && absl::StartsWith(entry.first, prefix)) ordered.push_back(&entry);
    }
  }
  v1::ListMetricSettingsResponse response;
  for (size_t i = offset; i < ordered.size() && response.settings_size() < page_size; ++i) {
    *response.add_settings() = ToProto(ordered[i]->first, &ordered[i]->second, *snapshot);
  }
  const size_t next = offset + static_cast<size_t>(response.settings_size());
  if (next < ordered.size()) {
    response.set_next_page_token(common::EncodePageToken("ListMetricSettings", absl::StrCat(next)));
  }
  return response;
}

absl::StatusOr<v1::MetricSettings> SettingsStore::Update(
    const v1::UpdateMetricSettingsRequest& request) {
  const v1::MetricSettings& in = request.settings();
  CC_ASSIGN_OR_RETURN(const std::string entity, EntityOf(in.name(), "settings.name"));
  std::vector<std::string> paths;
  for (int i = 0; i < request.update_mask().paths_size(); ++i) {
    const std::string& path = request.update_mask().paths(i);
    bool known = false;
    for (const char* field : kFields) known = known || path == field;
    if (!known) {
      return Invalid(absl::StrCat("update_mask.paths[", i, "]"),
                     absl::StrCat("unknown or read-only field \"", path, "\""));
    }
    paths.push_back(path);
  }
  if (paths.empty()) paths.assign(std::begin(kFields), std::end(kFields));
  auto in_mask = [&](absl::string_view field) {
    for (const std::string& path : paths) {
      if (path == field) return true;
    }
    return false;
  };
  // Validate what changes.
  if (in_mask("service_level_threshold") && in.has_service_level_threshold()) {
    const absl::Duration t = FromProto(in.service_level_threshold());
    if (t < absl::Seconds(1) || t > absl::Hours(1)) {
      return Invalid("settings.service_level_threshold", "must be 1s..1h");
    }
  }
  if (in_mask("short_abandon_threshold") && in.has_short_abandon_threshold()) {
    const absl::Duration s = FromProto(in.short_abandon_threshold());
    if (s < absl::ZeroDuration() || s > absl::Seconds(60)) {
      return Invalid("settings.short_abandon_threshold", "must be 0..60s");
    }
  }
  if (in_mask("service_level_definition") && !in.service_level_definition().empty()) {
    const std::string& name = in.service_level_definition();
    if (!absl::StartsWith(name, "metricDefinitions/service_level.")) {
      return Invalid("settings.service_level_definition",
                     absl::StrCat("\"", name, "\" is not a definition of metric service_level"));
    }
    if (FindDefinition(name) == nullptr) {
      return absl::NotFoundError(absl::StrCat("definition \"", name, "\" not found"));
    }
  }
  if (in_mask("service_level_target") && in.has_service_level_target() &&
      !(in.service_level_target() > 0 && in.service_level_target() <= 1)) {
    return Invalid("settings.service_level_target", "must be in (0, 1]");
  }
  if (in_mask("asa_target") && in.has_asa_target() &&
      FromProto(in.asa_target()) <= absl::ZeroDuration()) {
    return Invalid("settings.asa_target", "must be positive");
  }

  absl::StatusOr<v1::MetricSettings> result =
      pg_.Transact([&](pqxx::work& txn) -> absl::StatusOr<v1::MetricSettings> {
        CC_ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                            common::FindRequestResponse(txn, "UpdateMetricSettings",
                                                        request.request_id(), request));
        if (earlier) {
          v1::MetricSettings answer;
          answer.ParseFromString(*earlier);
          return answer;
        }
        txn.exec_params(
            "INSERT INTO metric_settings (name, version) VALUES ($1, 0) "
            "ON CONFLICT (name) DO NOTHING",
            entity);
        pqxx::row current = txn.exec_params1(
            "SELECT version FROM metric_settings WHERE name = $1 FOR UPDATE", entity);
        const int64_t version = current[0].as<int64_t>();
        if (!in.etag().empty() && in.etag() != Etag(version)) {
          return absl::AbortedError(absl::StrCat("ETAG_MISMATCH: settings ", in.name(),
                                                 " changed since etag ", in.etag(), " (now ",
                                                 Etag(version), ")"));
        }
        auto seconds = [](bool set, const google::protobuf::Duration& d) {
          return set ? std::optional<double>(absl::ToDoubleSeconds(FromProto(d))) : std::nullopt;
        };
        txn.exec_params(
            "UPDATE metric_settings SET "
            "service_level_threshold_seconds = CASE WHEN $2 THEN $3 ELSE "
            "service_level_threshold_seconds END, "
            "short_abandon_threshold_seconds = CASE WHEN $4 THEN $5 ELSE "
            "short_abandon_threshold_seconds END, "
            "service_level_definition = CASE WHEN $6 THEN $7 ELSE service_level_definition END, "
            "service_level_target = CASE WHEN $8 THEN $9 ELSE service_level_target END, "
            "asa_target_seconds = CASE WHEN $10 THEN $11 ELSE asa_target_seconds END, "
            "version = version + 1, update_time = now() WHERE name = $1",
            entity, in_mask("service_level_threshold"),
            seconds(in.has_service_level_threshold(), in.service_level_threshold()),
            in_mask("short_abandon_threshold"),
            seconds(in.has_short_abandon_threshold(), in.short_abandon_threshold()),
            in_mask("service_level_definition"),
            in.service_level_definition().empty()
                ? std::nullopt
                : std::optional<std::string>(in.service_level_definition()),
            in_mask("service_level_target"),
            in.has_service_level_target() ? std::optional<double>(in.service_level_target())
                                          : std::nullopt,
            in_mask("asa_target"), seconds(in.has_asa_target(), in.asa_target()));
        // The answer, from the settings as they now are (this transaction's view).
        auto snapshot = std::make_shared<SettingsSnapshot>();
        snapshot->site = site_;
        snapshot->defaults = defaults_;
        pqxx::result rows = txn.exec(std::string(kSelectSettings));
        for (const pqxx::row& row : rows) snapshot->own[row[0].as<std::string>()] = ParseOwn(row);
        v1::MetricSettings answer = ToProto(entity, &snapshot->own[entity], *snapshot);
        CC_RETURN_IF_ERROR(common::SaveRequestResponse(txn, "UpdateMetricSettings",
                                                       request.request_id(), request, answer));
        return answer;
      });
  if (result.ok()) {
    absl::MutexLock lock(&mutex_);
    // This replica uses the new settings at once: a load that started before now (the
    // refresher's, every tick) may have read the old ones and must not be cached after this.
    cached_ = nullptr;
    loaded_at_ = absl::Now();
  }
  return result;
}

}  // namespace contactcentre::analytics
