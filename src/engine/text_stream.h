// Turns sampled token ids into streamed text: holds back bytes that end inside a UTF-8 character
// and any tail that could still grow into a stop string, and cuts the text at the first stop
// string. Shared by single-sequence generation and the batching scheduler, so both stream alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rs {

class Tokenizer;

class TextStream {
 public:
  TextStream(const Tokenizer* tok, std::vector<std::string> stop, bool stop_at_eog);

  struct Step {
    std::string text;       // newly complete text to hand out (may be empty)
    bool finished = false;  // an end-of-generation token or a stop string ended the text
  };
  // Feeds one sampled id.
  Step push(int32_t id);
  // What is still held back once generation ends for another reason (length, context full).
  std::string flush();

 private:
  const Tokenizer* tok_;
  std::vector<std::string> stop_;
  bool stop_at_eog_;
  size_t max_stop_ = 0;
  std::string pending_;
};

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence.
size_t complete_utf8_prefix(std::string_view s);

}  // namespace rs
