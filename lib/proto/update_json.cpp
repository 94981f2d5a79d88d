#include "proto/update_json.h"

#include "livepoll/json.h"

namespace livepoll::proto {

void AppendUpdateFields(std::string& out, const Update& u) {
  out += "\"owner\": ";
  AppendJsonString(out, u.owner);
  out += ", \"epoch\": " + std::to_string(u.epoch) + ", \"seq\": " + std::to_string(u.seq);
  switch (u.kind) {
    case UpdateKind::kSnapshot: {
      out += ", \"columns\": [";
      for (size_t i = 0; i < u.columns.size(); ++i) {
        if (i > 0) out += ", ";
        AppendJsonString(out, u.columns[i]);
      }
      out += "], \"rows\": [";
      for (size_t i = 0; i < u.rows.size(); ++i) {
        if (i > 0) out += ", ";
        AppendJsonObject(out, u.columns, u.rows[i]);
      }
      out += "]";
      break;
    }
    case UpdateKind::kDiff: {
      out += ", \"changes\": [";
      for (size_t i = 0; i < u.changes.size(); ++i) {
        if (i > 0) out += ", ";
        out += "{\"op\": ";
        AppendJsonString(out, ChangeOpName(u.changes[i].op));
        out += ", \"row\": ";
        AppendJsonObject(out, u.columns, u.changes[i].row);
        out += "}";
      }
      out += "]";
      break;
    }
    case UpdateKind::kError:
      out += ", \"error\": ";
      AppendJsonString(out, u.error);
      break;
  }
}

}  // namespace livepoll::proto
