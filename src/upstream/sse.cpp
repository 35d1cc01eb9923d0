#include "upstream/sse.h"

namespace rs::upstream {

bool SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (stopped_) return false;
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the \n of a \r\n pair
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      if (!line(line_)) stopped_ = true;
      line_.clear();
      continue;
    }
    line_ += c;
  }
  return !stopped_;
}

bool SseParser::line(std::string_view l) {
  if (l.empty()) {  // blank line: dispatch
    if (!have_data_) {
      pending_ = {};
      return true;
    }
    SseEvent ev = std::move(pending_);
    pending_ = {};
    have_data_ = false;
    return on_event_(ev);
  }
  if (l.front() == ':') return true;  // comment / keep-alive
  const size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (have_data_) pending_.data += '\n';
    pending_.data.append(value);
    have_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  }
  return true;
}

}  // namespace rs::upstream
