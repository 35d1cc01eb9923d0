// Server-sent events as OpenAI-compatible servers stream them (text/event-stream, WHATWG HTML
// "Server-sent events" parsing rules): lines end in \n, \r\n or \r; "data:" lines accumulate
// (joined by \n) until a blank line dispatches the event; lines starting with ':' are comments
// (keep-alives); "event:", "id:" and "retry:" are read but only `event` is passed on.
// Bytes arrive in arbitrary pieces from the network, so the parser keeps a partial line between
// feed() calls.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace rs::upstream {

struct SseEvent {
  std::string event;  // "" when the server sent no "event:" line (the default "message")
  std::string data;
};

class SseParser {
 public:
  // Return false to stop: feed() then returns false too and ignores the rest of the bytes.
  using Handler = std::function<bool(const SseEvent&)>;
  explicit SseParser(Handler on_event) : on_event_(std::move(on_event)) {}

  bool feed(std::string_view bytes);
  // End of stream: an event without its closing blank line is dropped, as the spec says.
  void finish() { line_.clear(); }

 private:
  bool line(std::string_view l);

  Handler on_event_;
  std::string line_;  // partial line carried between feed() calls
  SseEvent pending_;
  bool have_data_ = false;
  bool after_cr_ = false;  // the last byte was \r: a following \n belongs to the same break
  bool stopped_ = false;
};

}  // namespace rs::upstream
