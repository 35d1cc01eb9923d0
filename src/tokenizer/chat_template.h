// Chat templates: a conversation -> the prompt text a chat model was trained on.
//
// No Jinja interpreter: each supported family is written out by hand to produce exactly what its
// official Jinja template renders (as Hugging Face transformers renders it) for plain text
// messages, and a model's `tokenizer.chat_template` is matched to a family with substring
// heuristics in the spirit of llama.cpp's llm_chat_detect_template. Where an official template
// refuses an input (a system message for Gemma, non-alternating roles, ...) the output follows
// llama.cpp's llm_chat_apply_template instead of failing; see ChatFormat for each family.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rs {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (others: see each format)
  std::string content;
};

// "trim" below is Jinja's |trim / Python's str.strip(): Unicode whitespace at both ends.
enum class ChatFormat {
  // "chatml": <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
  ChatML,
  // "qwen2": ChatML, plus the system turn "You are a helpful assistant." when the conversation
  // does not start with one (Qwen2-Instruct).
  Qwen2,
  // "qwen2.5": the same with "You are Qwen, created by Alibaba Cloud. You are a helpful
  // assistant." (Qwen2.5-Instruct; also for an empty conversation).
  Qwen25,
  // "llama2": Meta Llama-2-chat. A leading system message becomes <<SYS>>\n{system}\n<</SYS>>\n\n
  // in front of the first user message; user: <s>[INST] {trim} [/INST], assistant:
  // " {trim} </s>". Other roles are skipped, as the official template does.
  Llama2,
  // "mistral-legacy": the first Mistral-7B-Instruct template (v0.1/v0.2) and llama.cpp's
  // "llama2": [INST] {user} [/INST]{assistant}</s>; a system message is put in front of the next
  // user message followed by "\n" (the official template has no system role).
  MistralLegacy,
  // "mistral-v1": Mistral's v1 template: <s> [INST] {system}\n\n{user} [/INST] {assistant}</s>
  // (system on the first user message).
  MistralV1,
  // "mistral-v3": Mistral-7B-Instruct-v0.3 / Mistral-Large-2407: [INST] {user}[/INST]
  // " {trim(assistant)}</s>"; the system message goes in front of the user message only when
  // that is the last message (as the official template does).
  MistralV3,
  // "mistral-v3-tekken": Mistral-Nemo: as v3 without the spaces: [INST]{user}[/INST]{assistant}</s>
  MistralV3Tekken,
  // "mistral-v7": Mistral-Large-2411: [SYSTEM_PROMPT] {system}[/SYSTEM_PROMPT][INST] {user}[/INST]
  // " {assistant}</s>"
  MistralV7,
  // "mistral-v7-tekken": the same without the spaces (Mistral-Small-3.x, without the default
  // system prompt some of those templates add).
  MistralV7Tekken,
  // "llama3": Llama 3 Instruct: <|start_header_id|>{role}<|end_header_id|>\n\n{trim}<|eot_id|>
  Llama3,
  // "llama3.1": Llama 3.1/3.2/3.3 Instruct: as llama3, but always starting with the system turn
  // "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{trim(system)}" (the
  // 3.1 default date; the 3.2 template shows today's date under transformers).
  Llama31,
  // "phi3": Phi-3/3.5: <|{role}|>\n{content}<|end|>\n ... <|assistant|>\n; an empty system
  // message is skipped.
  Phi3,
  // "phi4": <|im_start|>{role}<|im_sep|>{content}<|im_end|> ... <|im_start|>assistant<|im_sep|>
  Phi4,
  // "gemma": Gemma/Gemma 2: <start_of_turn>{user|model}\n{trim}<end_of_turn>\n ...
  // <start_of_turn>model\n; "assistant" is "model"; system messages (which the official template
  // rejects) are trimmed and put in front of the next user turn, followed by "\n\n" (llama.cpp).
  Gemma,
};

// Every format, in the order chat_format_names() lists them.
std::span<const ChatFormat> all_chat_formats();
std::string_view chat_format_name(ChatFormat f);
std::optional<ChatFormat> chat_format_from_name(std::string_view name);
// "chatml, qwen2, qwen2.5, llama2, ..." for help texts and error messages.
std::string chat_format_names();

// The family of a Jinja chat template (a model's tokenizer.chat_template), or nullopt when it
// is none that rightsize knows (or the template is empty). A format name is accepted as well.
std::optional<ChatFormat> detect_chat_format(std::string_view jinja_template);

// The format to use: `name` when not empty (rs::Error if unknown), else the one detected from
// `jinja_template` (rs::Error "unknown chat template; pass --chat-template NAME (one of: ...)").
ChatFormat resolve_chat_format(std::string_view name, std::string_view jinja_template);

// Renders a conversation. add_generation_prompt appends the opening of an assistant turn for the
// formats that have one ([INST] formats need none). bos_text is put at the very start: pass the
// BOS token's text (e.g. "<|begin_of_text|>", "<s>", "<bos>") when the template starts with
// {{ bos_token }} and the tokenizer will not add BOS itself; leave it empty otherwise. (BOS and
// EOS inside the history of the Llama 2 / Mistral formats are the literal "<s>" and "</s>".)
std::string apply_chat_template(ChatFormat format, std::span<const ChatMessage> messages,
                                bool add_generation_prompt, std::string_view bos_text = "");

// The text that ends a turn of the format ("<|im_end|>", "<|eot_id|>", "</s>", "<|end|>",
// "<end_of_turn>"): a stop string for generation.
std::string_view chat_format_end_of_turn(ChatFormat f);

}  // namespace rs
