#include "update_json.h"

#include "livepoll/json.h"
#include "proto/update_json.h"

namespace livepoll::cli {

std::string UpdateToJson(const proto::Update& u) {
  std::string out = "{\"topic\": ";
  AppendJsonString(out, u.topic);
  out += ", \"kind\": ";
  AppendJsonString(out, proto::UpdateKindName(u.kind));
  out += ", ";
  proto::AppendUpdateFields(out, u);
  out += "}";
  return out;
}

}  // namespace livepoll::cli
