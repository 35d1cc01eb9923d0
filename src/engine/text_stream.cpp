#include "engine/text_stream.h"

#include <algorithm>

#include "core/utf8.h"
#include "tokenizer/tokenizer.h"

namespace rs {

size_t complete_utf8_prefix(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    if (c >= 0xC0 && utf8::seq_len(c) > back) return n - back;
    break;
  }
  return n;
}

TextStream::TextStream(const Tokenizer* tok, std::vector<std::string> stop, bool stop_at_eog)
    : tok_(tok), stop_(std::move(stop)), stop_at_eog_(stop_at_eog) {
  std::erase_if(stop_, [](const std::string& s) { return s.empty(); });
  for (const auto& s : stop_) max_stop_ = std::max(max_stop_, s.size());
}

TextStream::Step TextStream::push(int32_t id) {
  Step step;
  if (stop_at_eog_ && tok_ && tok_->is_eog(id)) {
    step.text = flush();
    step.finished = true;
    return step;
  }
  pending_ += tok_ ? tok_->token_to_piece(id, /*special=*/false) : std::string();
  // Stop strings: cut at the earliest match; otherwise hold back a tail that could become one.
  size_t cut = std::string::npos;
  for (const auto& s : stop_) cut = std::min(cut, pending_.find(s));
  if (cut != std::string::npos) {
    pending_.resize(cut);
    step.text = std::move(pending_);
    pending_.clear();
    step.finished = true;
    return step;
  }
  size_t ready = complete_utf8_prefix(pending_);
  if (max_stop_ > 1)
    ready =
        std::min(ready, pending_.size() >= max_stop_ - 1 ? pending_.size() - (max_stop_ - 1) : 0);
  step.text = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return step;
}

std::string TextStream::flush() {
  std::string out = std::move(pending_);
  pending_.clear();
  return out;
}

}  // namespace rs
