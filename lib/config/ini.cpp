#include "config/ini.h"

namespace livepoll::config::ini {
namespace {

std::string_view Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Where the comment of a key line starts (npos: none): the first '#' outside quotes.
size_t CommentOfKeyLine(std::string_view line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<Document> Read(const std::string& file, std::string_view text) {
  Document doc;
  std::string section;
  int number = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    auto error = [&](const char* what) {
      return Status::InvalidArgument(file + ": line " + std::to_string(number) + ": " + what);
    };

    if (line.ends_with('\r')) line.remove_suffix(1);
    for (char c : line) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        return error("control character in the file");
      }
    }
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;

    const bool header = trimmed.front() == '[';
    // Not empty: it starts where `trimmed` does, which is no '#'.
    const std::string_view content =
        Trim(line.substr(0, header ? line.find('#') : CommentOfKeyLine(line)));
    if (content.front() == '[' && content.back() == ']') {
      if (content.size() == 2) return error("empty section name");
      section = std::string(content.substr(1, content.size() - 2));
      doc.sections.push_back({section, number});
    } else if (const size_t eq = content.find('='); eq != std::string_view::npos) {
      doc.entries.push_back({section, std::string(Trim(content.substr(0, eq))),
                             std::string(Trim(content.substr(eq + 1))), number});
    } else {
      return error("not a [section], a key = value or a # comment");
    }
  }
  return doc;
}

}  // namespace livepoll::config::ini
