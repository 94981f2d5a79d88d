// PROTOCOL.md against the codecs' tables: every message type the codecs know is in the document
// with the same fields (names, types, order, when they are there), and the document has no message
// the codecs do not know; the same for the shapes inside cluster messages. The code is the truth
// about the wire: when this fails, fix the document (or the code, if the document was right).
//
// What the test reads of PROTOCOL.md: under "## Client endpoint messages" and "## Admin endpoint
// messages" (the client codec) and "## Cluster messages" (the cluster codec), each table whose
// first column is `type` or `shape` and that has a `fields` or `elements` column. In a row, the
// first cell names one or more types (`m.join`, or `p.delta`, `r.delta` when they share their
// fields); the fields cell is `—` (no fields) or the fields in order, separated by commas, each
// "`key` type", and " (optional)" or " (when CONDITION)" after the type when the field is not
// always there.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "net/cluster_codec.h"
#include "proto/codec.h"

namespace livepoll {
namespace {

using proto::WireField;
using proto::WireTable;

// A message type or shape as the document describes it, and where.
struct DocEntry {
  WireTable table;
  int line = 0;
};

// The entries of one kind (client messages, cluster messages, cluster shapes), by name.
struct DocEntries {
  std::map<std::string, DocEntry> by_name;
  std::vector<std::string> problems;  // rows that do not read, names given twice
};

struct Doc {
  DocEntries client;
  DocEntries cluster;
  DocEntries shapes;
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  const size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> Cells(const std::string& row) {
  std::vector<std::string> cells;
  std::stringstream in(row.substr(1));  // after the leading '|'
  for (std::string cell; std::getline(in, cell, '|');) cells.push_back(Trim(cell));
  if (!cells.empty() && cells.back().empty()) cells.pop_back();  // after the trailing '|'
  return cells;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(Trim(part));
  return parts;
}

// "`key` type", "`key` type (optional)", "`key` type (when kind is snapshot)".
bool ReadField(const std::string& item, WireField* f) {
  static const std::regex field("`([^`]+)` ([^()`]+?)(?: \\((optional|when [^()]+)\\))?");
  std::smatch m;
  if (!std::regex_match(item, m, field)) return false;
  *f = {m[1], m[2], m[3]};
  return true;
}

void AddRow(const std::vector<std::string>& cells, size_t fields_column, int line,
            DocEntries* into) {
  const std::string where = "PROTOCOL.md:" + std::to_string(line) + ": ";
  if (cells.size() <= fields_column) {
    into->problems.push_back(where + "a row with fewer cells than its table's header");
    return;
  }
  WireTable table;
  const std::string& fields = cells[fields_column];
  if (fields != "—") {
    for (const std::string& item : Split(fields, ',')) {
      WireField f;
      if (!ReadField(item, &f)) {
        into->problems.push_back(where + "cannot read the field '" + item +
                                 "' (write it as `key` type)");
        return;
      }
      table.fields.push_back(f);
    }
  }
  static const std::regex name("`([^`]+)`");
  const std::string& names = cells[0];
  int found = 0;
  for (std::sregex_iterator it(names.begin(), names.end(), name), end; it != end; ++it) {
    ++found;
    table.name = (*it)[1];
    auto [at, inserted] = into->by_name.emplace(table.name, DocEntry{table, line});
    if (!inserted)
      into->problems.push_back(where + "'" + table.name + "' is described again (first at line " +
                               std::to_string(at->second.line) + ")");
  }
  if (found == 0) into->problems.push_back(where + "no `type` in the row's first cell");
}

Doc ReadDoc(std::istream& in) {
  Doc doc;
  DocEntries* section = nullptr;
  std::vector<std::string> header;
  int line_number = 0;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.rfind("## ", 0) == 0) {
      section = nullptr;
      if (line.rfind("## Client endpoint messages", 0) == 0 ||
          line.rfind("## Admin endpoint messages", 0) == 0)
        section = &doc.client;
      if (line.rfind("## Cluster messages", 0) == 0) section = &doc.cluster;
    }
    if (line.empty() || line[0] != '|') {
      in_table = false;
      continue;
    }
    std::vector<std::string> cells = Cells(line);
    if (!in_table) {  // the header row
      in_table = true;
      header = cells;
      continue;
    }
    if (line.rfind("| ---", 0) == 0 || section == nullptr || header.empty()) continue;
    DocEntries* into = nullptr;
    std::string fields_name;
    if (header[0] == "type") {
      into = section;
      fields_name = "fields";
    } else if (header[0] == "shape" && section == &doc.cluster) {
      into = &doc.shapes;
      fields_name = "elements";
    } else {
      continue;  // another table: endpoints, envelope keys, admin commands
    }
    const auto column = std::find(header.begin(), header.end(), fields_name);
    if (column == header.end()) continue;
    AddRow(cells, column - header.begin(), line_number, into);
  }
  return doc;
}

std::string Names(const std::vector<WireField>& fields) {
  std::string out;
  for (const WireField& f : fields) out += (out.empty() ? "" : ", ") + f.name;
  return out.empty() ? "—" : out;
}

// What differs between the code's tables and the document's entries of one kind (`what`:
// "message", "shape"), each problem naming the type and the field.
std::vector<std::string> Compare(const std::vector<WireTable>& code, const DocEntries& doc,
                                 const std::string& what) {
  std::vector<std::string> problems = doc.problems;
  std::map<std::string, bool> in_code;
  for (const WireTable& t : code) {
    in_code[t.name] = true;
    auto it = doc.by_name.find(t.name);
    if (it == doc.by_name.end()) {
      problems.push_back(what + " '" + t.name + "' is in the codec but not in PROTOCOL.md");
      continue;
    }
    const std::string where =
        "PROTOCOL.md:" + std::to_string(it->second.line) + ": " + what + " '" + t.name + "': ";
    const std::vector<WireField>& documented = it->second.table.fields;
    auto find = [](const std::vector<WireField>& v, const std::string& name) -> const WireField* {
      for (const WireField& f : v)
        if (f.name == name) return &f;
      return nullptr;
    };
    bool same_names = true;
    for (const WireField& f : t.fields) {
      const WireField* d = find(documented, f.name);
      if (d == nullptr) {
        problems.push_back(where + "field '" + f.name + "' is in the codec but not in PROTOCOL.md");
        same_names = false;
        continue;
      }
      if (d->type != f.type)
        problems.push_back(where + "field '" + f.name + "' is " + f.type + " in the codec, " +
                           d->type + " in PROTOCOL.md");
      auto occurs = [](const std::string& o) { return o.empty() ? "always there" : o; };
      if (d->occurs != f.occurs)
        problems.push_back(where + "field '" + f.name + "' is " + occurs(f.occurs) +
                           " in the codec, " + occurs(d->occurs) + " in PROTOCOL.md");
    }
    for (const WireField& d : documented) {
      if (find(t.fields, d.name) == nullptr) {
        problems.push_back(where + "field '" + d.name + "' is in PROTOCOL.md but not in the codec");
        same_names = false;
      }
    }
    if (same_names && Names(t.fields) != Names(documented))
      problems.push_back(where + "the fields are written in the order " + Names(t.fields) +
                         ", PROTOCOL.md lists " + Names(documented));
  }
  for (const auto& [name, entry] : doc.by_name) {
    if (!in_code.count(name))
      problems.push_back("PROTOCOL.md:" + std::to_string(entry.line) + ": " + what + " '" + name +
                         "' is not in the codec");
  }
  return problems;
}

Doc ReadProtocolMd() {
  std::ifstream in(LIVEPOLL_PROTOCOL_MD);
  EXPECT_TRUE(in.good()) << "cannot read " << LIVEPOLL_PROTOCOL_MD;
  return ReadDoc(in);
}

std::string Lines(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += "\n  " + p;
  return out;
}

TEST(CodecProtocolDoc, ClientAndAdminMessagesAreThoseOfTheCodec) {
  const std::vector<std::string> problems =
      Compare(proto::MessageTables(), ReadProtocolMd().client, "message");
  EXPECT_TRUE(problems.empty()) << Lines(problems);
}

TEST(CodecProtocolDoc, ClusterMessagesAreThoseOfTheCodec) {
  const std::vector<std::string> problems =
      Compare(net::ClusterMessageTables(), ReadProtocolMd().cluster, "message");
  EXPECT_TRUE(problems.empty()) << Lines(problems);
}

TEST(CodecProtocolDoc, ClusterShapesAreThoseOfTheCodec) {
  const std::vector<std::string> problems =
      Compare(net::ClusterShapeTables(), ReadProtocolMd().shapes, "shape");
  EXPECT_TRUE(problems.empty()) << Lines(problems);
}

// The checker itself: each kind of disagreement is reported, naming the type and the field.
TEST(CodecProtocolDoc, EveryDisagreementIsNamed) {
  std::istringstream md(R"(# x
## Cluster messages
| type | socket | fields | meaning |
| --- | --- | --- | --- |
| `m.probe` | rpc | `sender` node, `probe_id` str | wrong type |
| `m.leave` | gossip | `sender` node, `reason` str | a field the code lacks |
| `m.gone` | gossip | — | a type the code lacks |
| `m.order` | rpc | `b` uint, `a` uint | another order |
| `m.when` | rpc | `a` uint (optional) | optional in the document only |
| `m.bad` | rpc | sender node | unreadable |

| shape | elements |
| --- | --- |
| `node` | `name` str |

## Other
| type | fields |
| --- | --- |
| `m.elsewhere` | — |
)");
  const Doc doc = ReadDoc(md);
  const std::vector<WireTable> code = {
      {"m.probe", {{"sender", "node", ""}, {"target", "node", ""}, {"probe_id", "uint", ""}}},
      {"m.leave", {{"sender", "node", ""}}},
      {"m.order", {{"a", "uint", ""}, {"b", "uint", ""}}},
      {"m.when", {{"a", "uint", ""}}},
      {"m.new", {}},
  };
  const std::vector<std::string> expected = {
      "PROTOCOL.md:10: cannot read the field 'sender node' (write it as `key` type)",
      "PROTOCOL.md:5: message 'm.probe': field 'target' is in the codec but not in PROTOCOL.md",
      "PROTOCOL.md:5: message 'm.probe': field 'probe_id' is uint in the codec, str in "
      "PROTOCOL.md",
      "PROTOCOL.md:6: message 'm.leave': field 'reason' is in PROTOCOL.md but not in the codec",
      "PROTOCOL.md:8: message 'm.order': the fields are written in the order a, b, PROTOCOL.md "
      "lists b, a",
      "PROTOCOL.md:9: message 'm.when': field 'a' is always there in the codec, optional in "
      "PROTOCOL.md",
      "message 'm.new' is in the codec but not in PROTOCOL.md",
      "PROTOCOL.md:7: message 'm.gone' is not in the codec",
  };
  EXPECT_EQ(Compare(code, doc.cluster, "message"), expected);
  EXPECT_EQ(Compare({{"node", {{"name", "str", ""}}}}, doc.shapes, "shape"),
            std::vector<std::string>{});
  EXPECT_TRUE(doc.client.by_name.empty());
}

}  // namespace
}  // namespace livepoll
