#include "source/collector.h"

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace livepoll::source {
namespace {

constexpr std::string_view kTooLarge = "result too large";

}  // namespace

bool IsResultTooLarge(const Status& s) {
  return s.code() == Status::Code::kUnavailable && s.message().rfind(kTooLarge, 0) == 0;
}

int Collector::OnColumns(void* ctx, const lp_str* names, size_t count) noexcept {
  auto* self = static_cast<Collector*>(ctx);
  return self->Guard([&] { return self->Columns(names, count); });
}

int Collector::OnRow(void* ctx, const lp_value* values, size_t count) noexcept {
  auto* self = static_cast<Collector*>(ctx);
  return self->Guard([&] { return self->AddRow(values, count); });
}

template <typename Fn>
int Collector::Guard(Fn&& collect) noexcept {
  if (failed_ != Failed::kNo) return 1;  // told to stop, the plugin went on
  try {
    return collect();
  } catch (const std::length_error&) {
    failed_ = Failed::kTooLong;
  } catch (const std::bad_alloc&) {
    failed_ = Failed::kOutOfMemory;
  } catch (...) {
    failed_ = Failed::kUnexpected;
  }
  return 1;
}

int Collector::Columns(const lp_str* names, size_t count) {
  if (have_columns_) return Fail("plugin sent its columns twice");
  if (count > 0 && names == nullptr) return Fail("plugin sent columns without names");
  for (size_t i = 0; i < count; ++i) {
    if (names[i].data == nullptr && names[i].len > 0) return Fail("plugin sent a null column name");
    result_.columns.push_back(Copy("column name", names[i].data, names[i].len));
  }
  have_columns_ = true;
  return 0;
}

int Collector::AddRow(const lp_value* values, size_t count) {
  if (!have_columns_) return Fail("plugin sent a row before its columns");
  if (count != result_.columns.size()) {
    return Fail("plugin sent a row of " + std::to_string(count) + " values for " +
                std::to_string(result_.columns.size()) + " columns");
  }
  if (count > 0 && values == nullptr) return Fail("plugin sent a row without values");
  if (result_.rows.size() >= limits_.max_rows) {
    return TooLarge(std::to_string(result_.rows.size() + 1) + " rows > max_result_rows " +
                    std::to_string(limits_.max_rows));
  }
  // The row's size before copying anything of it.
  // At least its msgpack encoding's size, so that a result within max_bytes fits in a frame.
  size_t row_bytes = 5;
  for (size_t i = 0; i < count; ++i) {
    const lp_value& v = values[i];
    const bool bytes = v.type == LP_TEXT || v.type == LP_BLOB;
    const size_t b = !bytes ? 9 : v.u.s.len > SIZE_MAX - 5 ? SIZE_MAX : v.u.s.len + 5;
    row_bytes = b > SIZE_MAX - row_bytes ? SIZE_MAX : row_bytes + b;
  }
  if (row_bytes > limits_.max_bytes || bytes_ > limits_.max_bytes - row_bytes) {
    return TooLarge("over " + std::to_string(limits_.max_bytes) +
                    " bytes > max_result_bytes, after " + std::to_string(result_.rows.size()) +
                    " rows");
  }
  bytes_ += row_bytes;
  Row row;
  row.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const lp_value& v = values[i];
    switch (v.type) {
      case LP_NULL:
        row.emplace_back(Null{});
        break;
      case LP_INT:
        row.emplace_back(int64_t{v.u.i});
        break;
      case LP_REAL:
        row.emplace_back(v.u.r);
        break;
      case LP_BOOL:
        row.emplace_back(v.u.i != 0);
        break;
      case LP_TEXT:
        if (v.u.s.data == nullptr && v.u.s.len > 0) return Fail("plugin sent a null string");
        row.emplace_back(Copy("text value", v.u.s.data, v.u.s.len));
        break;
      case LP_BLOB:
        if (v.u.s.data == nullptr && v.u.s.len > 0) return Fail("plugin sent a null string");
        row.emplace_back(Blob{Copy("blob value", v.u.s.data, v.u.s.len)});
        break;
      default:
        return Fail("plugin sent a value of unknown type " + std::to_string(v.type));
    }
  }
  result_.rows.push_back(std::move(row));
  return 0;
}

std::string Collector::Copy(const char* what, const char* data, size_t len) {
  copying_ = what;
  copying_len_ = len;
  // std::string(data, len) would throw length_error as well, but only after computing data + len,
  // which overflows for such a length.
  if (len > std::string().max_size()) throw std::length_error(what);
  std::string bytes = data == nullptr ? std::string() : std::string(data, len);
  copying_ = nullptr;
  return bytes;
}

int Collector::TooLarge(std::string why) {
  failed_ = Failed::kTooLarge;
  too_large_ = std::move(why);
  return 1;
}

int Collector::Fail(std::string why) {
  failed_ = Failed::kContract;
  contract_ = std::move(why);
  return 1;
}

Status Collector::Failure(const std::string& plugin) const {
  // The copy that failed, if one did: "text value of 18446744073709551615 bytes".
  const std::string copy = copying_ == nullptr ? std::string()
                                               : std::string(copying_) + " of " +
                                                     std::to_string(copying_len_) + " bytes";
  switch (failed_) {
    case Failed::kNo:
      return Status::Ok();
    case Failed::kContract:
      return Status::Malformed(plugin + ": " + contract_);
    case Failed::kTooLong:
      if (copy.empty())
        return Status::Malformed(plugin + ": plugin sent a result too large to hold");
      return Status::Malformed(plugin + ": plugin sent a " + copy +
                               ", more than a string can hold");
    case Failed::kOutOfMemory:
      if (copy.empty()) {
        return Status::Unavailable(plugin + ": out of memory collecting the result after " +
                                   std::to_string(result_.rows.size()) + " rows");
      }
      return Status::Unavailable(plugin + ": out of memory collecting the result (a " + copy + ")");
    case Failed::kTooLarge:
      return Status::Unavailable(std::string(kTooLarge) + " (" + too_large_ + ")");
    case Failed::kUnexpected:
      break;
  }
  return Status::Internal(plugin + ": unexpected error collecting the result");
}

}  // namespace livepoll::source
