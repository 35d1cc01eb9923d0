#include "tokenizer/chat_template.h"

#include <array>
#include <cstdint>
#include <initializer_list>

#include "core/error.h"

namespace rs {

namespace {

struct FormatInfo {
  ChatFormat format;
  std::string_view name;
  std::string_view end_of_turn;
};

constexpr std::array kFormats = {
    FormatInfo{ChatFormat::ChatML, "chatml", "<|im_end|>"},
    FormatInfo{ChatFormat::Qwen2, "qwen2", "<|im_end|>"},
    FormatInfo{ChatFormat::Qwen25, "qwen2.5", "<|im_end|>"},
    FormatInfo{ChatFormat::Llama2, "llama2", "</s>"},
    FormatInfo{ChatFormat::MistralLegacy, "mistral-legacy", "</s>"},
    FormatInfo{ChatFormat::MistralV1, "mistral-v1", "</s>"},
    FormatInfo{ChatFormat::MistralV3, "mistral-v3", "</s>"},
    FormatInfo{ChatFormat::MistralV3Tekken, "mistral-v3-tekken", "</s>"},
    FormatInfo{ChatFormat::MistralV7, "mistral-v7", "</s>"},
    FormatInfo{ChatFormat::MistralV7Tekken, "mistral-v7-tekken", "</s>"},
    FormatInfo{ChatFormat::Llama3, "llama3", "<|eot_id|>"},
    FormatInfo{ChatFormat::Llama31, "llama3.1", "<|eot_id|>"},
    FormatInfo{ChatFormat::Phi3, "phi3", "<|end|>"},
    FormatInfo{ChatFormat::Phi4, "phi4", "<|im_end|>"},
    FormatInfo{ChatFormat::Gemma, "gemma", "<end_of_turn>"},
};

constexpr std::array kAllFormats = [] {
  std::array<ChatFormat, kFormats.size()> a{};
  for (size_t i = 0; i < kFormats.size(); ++i) a[i] = kFormats[i].format;
  return a;
}();

const FormatInfo& info(ChatFormat f) {
  for (const FormatInfo& i : kFormats) {
    if (i.format == f) return i;
  }
  fail("unknown chat format {}", static_cast<int>(f));
}

// Python's str.isspace() for one code point (what Jinja's |trim and str.strip() remove).
bool is_py_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Decodes the well-formed UTF-8 sequence of `len` bytes at s[i] (len 1..4); 0xFFFFFFFF when it is
// not one (stray or truncated bytes are never whitespace).
uint32_t decode_at(std::string_view s, size_t i, size_t len) {
  if (i + len > s.size()) return 0xFFFFFFFF;
  const auto b0 = static_cast<unsigned char>(s[i]);
  uint32_t cp;
  size_t need;
  if (b0 < 0x80) {
    cp = b0, need = 1;
  } else if ((b0 >> 5) == 0x6) {
    cp = b0 & 0x1F, need = 2;
  } else if ((b0 >> 4) == 0xE) {
    cp = b0 & 0x0F, need = 3;
  } else if ((b0 >> 3) == 0x1E) {
    cp = b0 & 0x07, need = 4;
  } else {
    return 0xFFFFFFFF;
  }
  if (need != len) return 0xFFFFFFFF;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b >> 6) != 0x2) return 0xFFFFFFFF;
    cp = (cp << 6) | (b & 0x3F);
  }
  return cp;
}

// Jinja's |trim / Python's str.strip() on UTF-8 text.
std::string trim(std::string_view s) {
  size_t begin = 0, end = s.size();
  while (begin < end) {
    const auto b0 = static_cast<unsigned char>(s[begin]);
    const size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : 4;
    const uint32_t cp = decode_at(s.substr(0, end), begin, len);
    if (cp == 0xFFFFFFFF || !is_py_space(cp)) break;
    begin += len;
  }
  while (end > begin) {
    // Find the lead byte of the last sequence (at most 3 continuation bytes back).
    size_t lead = end - 1;
    while (lead > begin && end - lead < 4 && (static_cast<unsigned char>(s[lead]) >> 6) == 0x2) {
      --lead;
    }
    const uint32_t cp = decode_at(s.substr(0, end), lead, end - lead);
    if (cp == 0xFFFFFFFF || !is_py_space(cp)) break;
    end = lead;
  }
  return std::string(s.substr(begin, end - begin));
}

// out += a + b + ...; (piecewise: GCC 12 warns falsely (-Wrestrict) on operator+ chains at -O3)
void cat(std::string& out, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) out.append(p);
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// --- the formats --------------------------------------------------------------------------------

void chatml(std::string& out, std::span<const ChatMessage> msgs, bool add_gen,
            std::string_view default_system, bool system_for_empty) {
  const bool has_system = !msgs.empty() && msgs[0].role == "system";
  if (!default_system.empty() && !has_system && (!msgs.empty() || system_for_empty)) {
    cat(out, {"<|im_start|>system\n", default_system, "<|im_end|>\n"});
  }
  for (const ChatMessage& m : msgs) {
    cat(out, {"<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n"});
  }
  if (add_gen) out += "<|im_start|>assistant\n";
}

void llama3(std::string& out, std::span<const ChatMessage> msgs, bool add_gen, bool v31) {
  if (v31) {
    const bool has_system = !msgs.empty() && msgs[0].role == "system";
    out += "<|start_header_id|>system<|end_header_id|>\n\n";
    out += "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
    if (has_system) out += trim(msgs[0].content);
    out += "<|eot_id|>";
    if (has_system) msgs = msgs.subspan(1);
  }
  for (const ChatMessage& m : msgs) {
    cat(out,
        {"<|start_header_id|>", m.role, "<|end_header_id|>\n\n", trim(m.content), "<|eot_id|>"});
  }
  if (add_gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

// Meta's Llama-2-chat template.
void llama2(std::string& out, std::span<const ChatMessage> msgs) {
  std::string system;
  bool has_system = false;
  if (!msgs.empty() && msgs[0].role == "system") {
    system = msgs[0].content;
    has_system = true;
    msgs = msgs.subspan(1);
  }
  const size_t start = out.size();  // the BOS of the first turn is the caller's bos_text
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ChatMessage& m = msgs[i];
    std::string content;
    if (i == 0 && has_system) cat(content, {"<<SYS>>\n", system, "\n<</SYS>>\n\n"});
    content += m.content;
    if (m.role == "user") {
      if (out.size() != start) out += "<s>";
      cat(out, {"[INST] ", trim(content), " [/INST]"});
    } else if (m.role == "assistant") {
      cat(out, {" ", trim(content), " </s>"});
    }
  }
}

// The first Mistral-7B-Instruct template, with llama.cpp's handling of a system message.
void mistral_legacy(std::string& out, std::span<const ChatMessage> msgs) {
  bool in_turn = true;
  out += "[INST] ";
  for (const ChatMessage& m : msgs) {
    if (!in_turn) {
      out += "[INST] ";
      in_turn = true;
    }
    if (m.role == "system") {
      cat(out, {m.content, "\n"});
    } else if (m.role == "assistant") {
      cat(out, {m.content, "</s>"});
      in_turn = false;
    } else {
      cat(out, {m.content, " [/INST]"});
    }
  }
}

enum class MistralStyle { V1, V3, V3Tekken };

// Mistral's official v1 / v3 / v3-tekken templates.
void mistral_v1_v3(std::string& out, std::span<const ChatMessage> msgs, MistralStyle style) {
  std::string system;
  bool has_system = false;
  if (!msgs.empty() && msgs[0].role == "system") {
    system = msgs[0].content;
    has_system = true;
    msgs = msgs.subspan(1);
  }
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ChatMessage& m = msgs[i];
    if (m.role == "user") {
      // v1 attaches the system message to the first message, v3 to the last one.
      const bool with_system =
          has_system && (style == MistralStyle::V1 ? i == 0 : i + 1 == msgs.size());
      const std::string_view sys = with_system ? std::string_view(system) : "";
      const std::string_view sep = with_system ? "\n\n" : "";
      switch (style) {
        case MistralStyle::V1:
          cat(out, {" [INST] ", sys, sep, m.content, " [/INST]"});
          break;
        case MistralStyle::V3:
          cat(out, {"[INST] ", sys, sep, m.content, "[/INST]"});
          break;
        case MistralStyle::V3Tekken:
          cat(out, {"[INST]", sys, sep, m.content, "[/INST]"});
          break;
      }
    } else if (m.role == "assistant") {
      switch (style) {
        case MistralStyle::V1:
          cat(out, {" ", m.content, "</s>"});
          break;
        case MistralStyle::V3:
          cat(out, {" ", trim(m.content), "</s>"});
          break;
        case MistralStyle::V3Tekken:
          cat(out, {m.content, "</s>"});
          break;
      }
    }
  }
}

void mistral_v7(std::string& out, std::span<const ChatMessage> msgs, bool tekken) {
  const std::string_view sp = tekken ? "" : " ";
  for (const ChatMessage& m : msgs) {
    if (m.role == "system") {
      cat(out, {"[SYSTEM_PROMPT]", sp, m.content, "[/SYSTEM_PROMPT]"});
    } else if (m.role == "assistant") {
      cat(out, {sp, m.content, "</s>"});
    } else {
      cat(out, {"[INST]", sp, m.content, "[/INST]"});
    }
  }
}

void phi3(std::string& out, std::span<const ChatMessage> msgs, bool add_gen) {
  for (const ChatMessage& m : msgs) {
    if (m.role == "system" && m.content.empty()) continue;
    cat(out, {"<|", m.role, "|>\n", m.content, "<|end|>\n"});
  }
  if (add_gen) out += "<|assistant|>\n";
}

void phi4(std::string& out, std::span<const ChatMessage> msgs, bool add_gen) {
  for (const ChatMessage& m : msgs) {
    cat(out, {"<|im_start|>", m.role, "<|im_sep|>", m.content, "<|im_end|>"});
  }
  if (add_gen) out += "<|im_start|>assistant<|im_sep|>";
}

void gemma(std::string& out, std::span<const ChatMessage> msgs, bool add_gen) {
  std::string system;
  for (const ChatMessage& m : msgs) {
    if (m.role == "system") {
      if (!system.empty()) system += "\n\n";
      system += trim(m.content);
      continue;
    }
    const std::string_view role = m.role == "assistant" ? "model" : std::string_view(m.role);
    cat(out, {"<start_of_turn>", role, "\n"});
    if (!system.empty() && role != "model") {
      cat(out, {system, "\n\n"});
      system.clear();
    }
    cat(out, {trim(m.content), "<end_of_turn>\n"});
  }
  if (add_gen) out += "<start_of_turn>model\n";
}

}  // namespace

std::span<const ChatFormat> all_chat_formats() {
  return kAllFormats;
}

std::string_view chat_format_name(ChatFormat f) {
  return info(f).name;
}

std::string_view chat_format_end_of_turn(ChatFormat f) {
  return info(f).end_of_turn;
}

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
  for (const FormatInfo& i : kFormats) {
    if (i.name == name) return i.format;
  }
  return std::nullopt;
}

std::string chat_format_names() {
  std::string s;
  for (const FormatInfo& i : kFormats) {
    if (!s.empty()) s += ", ";
    s += i.name;
  }
  return s;
}

std::optional<ChatFormat> detect_chat_format(std::string_view t) {
  if (t.empty()) return std::nullopt;
  if (auto named = chat_format_from_name(t)) return named;

  if (contains(t, "<|im_start|>")) {
    if (contains(t, "<|im_sep|>")) return ChatFormat::Phi4;
    // SmolVLM uses <|im_start|> as its BOS but is not ChatML.
    if (contains(t, "<end_of_utterance>")) return std::nullopt;
    if (contains(t, "You are Qwen, created by Alibaba Cloud")) return ChatFormat::Qwen25;
    if (contains(t, "You are a helpful assistant.<|im_end|>")) return ChatFormat::Qwen2;
    return ChatFormat::ChatML;
  }
  if (t.starts_with("mistral") || contains(t, "[INST]")) {
    if (contains(t, "[SYSTEM_PROMPT]")) {
      return contains(t, "[INST] ") ? ChatFormat::MistralV7 : ChatFormat::MistralV7Tekken;
    }
    // The official v1 template puts the system message in the first [INST] with a leading
    // space; v3 and v3-tekken have the tool blocks.
    if (contains(t, "' [INST] ' + system_message") || contains(t, "[AVAILABLE_TOOLS]")) {
      if (contains(t, " [INST]")) return ChatFormat::MistralV1;
      if (contains(t, "\"[INST]\"")) return ChatFormat::MistralV3Tekken;
      return ChatFormat::MistralV3;
    }
    if (contains(t, "<<SYS>>")) return ChatFormat::Llama2;
    return ChatFormat::MistralLegacy;
  }
  if (contains(t, "<|assistant|>") && contains(t, "<|end|>")) return ChatFormat::Phi3;
  if (contains(t, "<start_of_turn>")) return ChatFormat::Gemma;
  if (contains(t, "<|start_header_id|>") && contains(t, "<|end_header_id|>")) {
    return contains(t, "Cutting Knowledge Date") ? ChatFormat::Llama31 : ChatFormat::Llama3;
  }
  return std::nullopt;
}

ChatFormat resolve_chat_format(std::string_view name, std::string_view jinja_template) {
  if (!name.empty()) {
    auto f = chat_format_from_name(name);
    RS_CHECK(f, "unknown chat template name '{}'; pass --chat-template NAME (one of: {})", name,
             chat_format_names());
    return *f;
  }
  auto f = detect_chat_format(jinja_template);
  RS_CHECK(f, "unknown chat template; pass --chat-template NAME (one of: {})", chat_format_names());
  return *f;
}

std::string apply_chat_template(ChatFormat format, std::span<const ChatMessage> messages,
                                bool add_generation_prompt, std::string_view bos_text) {
  std::string out(bos_text);
  switch (format) {
    case ChatFormat::ChatML:
      chatml(out, messages, add_generation_prompt, "", false);
      break;
    case ChatFormat::Qwen2:
      chatml(out, messages, add_generation_prompt, "You are a helpful assistant.", false);
      break;
    case ChatFormat::Qwen25:
      chatml(out, messages, add_generation_prompt,
             "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", true);
      break;
    case ChatFormat::Llama2:
      llama2(out, messages);
      break;
    case ChatFormat::MistralLegacy:
      mistral_legacy(out, messages);
      break;
    case ChatFormat::MistralV1:
      mistral_v1_v3(out, messages, MistralStyle::V1);
      break;
    case ChatFormat::MistralV3:
      mistral_v1_v3(out, messages, MistralStyle::V3);
      break;
    case ChatFormat::MistralV3Tekken:
      mistral_v1_v3(out, messages, MistralStyle::V3Tekken);
      break;
    case ChatFormat::MistralV7:
      mistral_v7(out, messages, false);
      break;
    case ChatFormat::MistralV7Tekken:
      mistral_v7(out, messages, true);
      break;
    case ChatFormat::Llama3:
      llama3(out, messages, add_generation_prompt, false);
      break;
    case ChatFormat::Llama31:
      llama3(out, messages, add_generation_prompt, true);
      break;
    case ChatFormat::Phi3:
      phi3(out, messages, add_generation_prompt);
      break;
    case ChatFormat::Phi4:
      phi4(out, messages, add_generation_prompt);
      break;
    case ChatFormat::Gemma:
      gemma(out, messages, add_generation_prompt);
      break;
  }
  return out;
}

}  // namespace rs
