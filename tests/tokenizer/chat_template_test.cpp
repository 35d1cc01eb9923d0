#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"
#include "test_util.h"

namespace rs {
namespace {

// The conversation of llama.cpp's tests/test-chat-template.cpp (note the spaces around the
// second assistant message: templates differ in whether they trim).
const std::vector<ChatMessage> kConversation = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};

std::string render(ChatFormat f, std::string_view bos = "", bool add_gen = true) {
  return apply_chat_template(f, kConversation, add_gen, bos);
}

// ---------------------------------------------------------------------------------------------
// Rendering. Unless noted, the expected strings are the outputs llama.cpp's
// tests/test-chat-template.cpp expects for kConversation with add_generation_prompt (its
// `expected_output`, or `expected_output_jinja` when that differs: the official template as a
// Jinja engine renders it). Retyped here, not generated.

TEST(ChatTemplate, ChatML) {
  // teknium/OpenHermes-2.5-Mistral-7B
  EXPECT_EQ(render(ChatFormat::ChatML),
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
            "<|im_start|>user\nHello<|im_end|>\n"
            "<|im_start|>assistant\nHi there<|im_end|>\n"
            "<|im_start|>user\nWho are you<|im_end|>\n"
            "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n"
            "<|im_start|>user\nAnother question<|im_end|>\n"
            "<|im_start|>assistant\n");
  const std::vector<ChatMessage> one = {{"user", "Hi"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::ChatML, one, false),
            "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(ChatTemplate, QwenDefaultSystemMessages) {
  // Hand-rendered from the official Qwen2-Instruct and Qwen2.5-Instruct templates: without a
  // leading system message they insert their default one; with one, plain ChatML.
  const std::vector<ChatMessage> user_only = {{"user", "Hello"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Qwen25, user_only, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template(ChatFormat::Qwen2, user_only, true),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render(ChatFormat::Qwen25), render(ChatFormat::ChatML));
  EXPECT_EQ(render(ChatFormat::Qwen2), render(ChatFormat::ChatML));
  // Qwen2.5's system block sits outside the message loop; Qwen2's inside it.
  EXPECT_EQ(apply_chat_template(ChatFormat::Qwen25, {}, false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n");
  EXPECT_EQ(apply_chat_template(ChatFormat::Qwen2, {}, false), "");
}

TEST(ChatTemplate, Llama3) {
  // "Llama-3" (meta-llama/Meta-Llama-3-8B-Instruct): contents are trimmed.
  EXPECT_EQ(render(ChatFormat::Llama3),
            "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // BOS only when the caller wants it as text.
  const std::vector<ChatMessage> one = {{"user", "Hi"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Llama3, one, true, "<|begin_of_text|>"),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(apply_chat_template(ChatFormat::Llama3, one, false),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST(ChatTemplate, Llama31) {
  // Hand-rendered from the meta-llama/Llama-3.2-3B-Instruct template (llama.cpp's
  // models/templates copy) with date_string "26 Jul 2024" and no tools.
  const std::vector<ChatMessage> one = {{"user", " Hi "}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Llama31, one, true),
            "<|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const std::string full = render(ChatFormat::Llama31);
  const std::string llama3 = render(ChatFormat::Llama3);
  const std::string head =
      "<|start_header_id|>system<|end_header_id|>\n\n"
      "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
      "You are a helpful assistant<|eot_id|>";
  ASSERT_EQ(full.substr(0, head.size()), head);
  const size_t rest = llama3.find("<|start_header_id|>user");
  EXPECT_EQ(full.substr(head.size()), llama3.substr(rest));
}

TEST(ChatTemplate, Phi3) {
  // "Phi-3-small" / "Phi-3-vision" (and Phi-3-mini/medium's legacy output).
  EXPECT_EQ(render(ChatFormat::Phi3),
            "<|system|>\nYou are a helpful assistant<|end|>\n"
            "<|user|>\nHello<|end|>\n"
            "<|assistant|>\nHi there<|end|>\n"
            "<|user|>\nWho are you<|end|>\n"
            "<|assistant|>\n   I am an assistant   <|end|>\n"
            "<|user|>\nAnother question<|end|>\n"
            "<|assistant|>\n");
  // microsoft/Phi-3.5-mini-instruct skips an empty system message.
  const std::vector<ChatMessage> empty_system = {{"system", ""}, {"user", "Hi"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Phi3, empty_system, true),
            "<|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(ChatTemplate, Phi4) {
  // "phi-4"
  EXPECT_EQ(render(ChatFormat::Phi4),
            "<|im_start|>system<|im_sep|>You are a helpful assistant<|im_end|>"
            "<|im_start|>user<|im_sep|>Hello<|im_end|>"
            "<|im_start|>assistant<|im_sep|>Hi there<|im_end|>"
            "<|im_start|>user<|im_sep|>Who are you<|im_end|>"
            "<|im_start|>assistant<|im_sep|>   I am an assistant   <|im_end|>"
            "<|im_start|>user<|im_sep|>Another question<|im_end|>"
            "<|im_start|>assistant<|im_sep|>");
}

TEST(ChatTemplate, Gemma) {
  // "google/gemma-7b-it", llama.cpp's expected_output: the official template rejects a system
  // message; llama.cpp (and rightsize) merge it into the first user turn with "\n\n". Contents
  // are trimmed and "assistant" is "model".
  EXPECT_EQ(render(ChatFormat::Gemma),
            "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n"
            "<start_of_turn>model\nHi there<end_of_turn>\n"
            "<start_of_turn>user\nWho are you<end_of_turn>\n"
            "<start_of_turn>model\nI am an assistant<end_of_turn>\n"
            "<start_of_turn>user\nAnother question<end_of_turn>\n"
            "<start_of_turn>model\n");
  // google/gemma-2-2b-it starts with {{ bos_token }}.
  const std::vector<ChatMessage> one = {{"user", "Hi"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Gemma, one, true, "<bos>"),
            "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, Llama2) {
  // meta-llama/Llama-2-7b-chat-hf, hand-rendered from its template with bos "<s>" / eos "</s>":
  // every user turn opens with BOS, contents are stripped, the system message is a <<SYS>> block
  // in the first one. (It equals llama.cpp's expected_output_jinja for
  // "bofenghuang/vigogne-2-70b-chat", the same template with a single BOS, plus the per-turn
  // "<s>".)
  EXPECT_EQ(render(ChatFormat::Llama2, "<s>"),
            "<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there "
            "</s><s>[INST] Who are you [/INST] I am an assistant </s><s>[INST] Another question "
            "[/INST]");
  // Without bos_text the tokenizer adds the first BOS; later ones stay in the text.
  EXPECT_EQ(render(ChatFormat::Llama2).substr(0, 12), "[INST] <<SYS");
  EXPECT_NE(render(ChatFormat::Llama2).find("</s><s>[INST] Who"), std::string::npos);
}

TEST(ChatTemplate, MistralLegacy) {
  // "mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)"
  EXPECT_EQ(render(ChatFormat::MistralLegacy),
            "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you "
            "[/INST]   I am an assistant   </s>[INST] Another question [/INST]");
}

TEST(ChatTemplate, MistralV1) {
  // "mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)"
  EXPECT_EQ(render(ChatFormat::MistralV1),
            " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you "
            "[/INST]    I am an assistant   </s> [INST] Another question [/INST]");
  EXPECT_EQ(render(ChatFormat::MistralV1, "<s>").substr(0, 11), "<s> [INST] ");
}

TEST(ChatTemplate, MistralV3) {
  // "Mistral-Large-Instruct-2407 (mistralai 'v3' template)", expected_output_jinja: the system
  // message goes with the last user message and assistant messages are trimmed.
  EXPECT_EQ(render(ChatFormat::MistralV3),
            "[INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST] I am an assistant</s>"
            "[INST] You are a helpful assistant\n\nAnother question[/INST]");
  // When the conversation ends with an assistant message the official template drops the
  // system message.
  const std::vector<ChatMessage> ends_with_assistant = {
      {"system", "S"}, {"user", "U"}, {"assistant", "A"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::MistralV3, ends_with_assistant, true),
            "[INST] U[/INST] A</s>");
}

TEST(ChatTemplate, MistralV3Tekken) {
  // "Mistral-Nemo-Instruct-2407 (mistralai 'v3-tekken' template)", expected_output_jinja.
  EXPECT_EQ(render(ChatFormat::MistralV3Tekken),
            "[INST]Hello[/INST]Hi there</s>[INST]Who are you[/INST]   I am an assistant   </s>"
            "[INST]You are a helpful assistant\n\nAnother question[/INST]");
}

TEST(ChatTemplate, MistralV7) {
  // "mistralai/Mistral-Large-Instruct-2411 (mistralai 'v7' template)"
  EXPECT_EQ(render(ChatFormat::MistralV7),
            "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi "
            "there</s>[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another "
            "question[/INST]");
  // v7-tekken: llama.cpp's rendering, without the spaces.
  EXPECT_EQ(render(ChatFormat::MistralV7Tekken),
            "[SYSTEM_PROMPT]You are a helpful assistant[/SYSTEM_PROMPT][INST]Hello[/INST]Hi "
            "there</s>[INST]Who are you[/INST]   I am an assistant   </s>[INST]Another "
            "question[/INST]");
}

TEST(ChatTemplate, TrimIsPythonStrip) {
  // Jinja's |trim is str.strip(): Unicode whitespace (here NBSP, ideographic space, a line
  // separator and \v) goes, other bytes (a zero-width space is not whitespace) stay.
  const std::vector<ChatMessage> msgs = {{"user", "\xC2\xA0\xE3\x80\x80 \tHi\v\xE2\x80\xA8"},
                                         {"assistant", "\xE2\x80\x8Bx\n"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Llama3, msgs, false),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n\xE2\x80\x8Bx<|eot_id|>");
  const std::vector<ChatMessage> blank = {{"user", " \n "}, {"assistant", "\xC2"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Gemma, blank, false),
            "<start_of_turn>user\n<end_of_turn>\n<start_of_turn>model\n\xC2<end_of_turn>\n");
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(ChatTemplate, NamesRoundTrip) {
  for (ChatFormat f : all_chat_formats()) {
    const auto name = chat_format_name(f);
    EXPECT_EQ(chat_format_from_name(name), f) << name;
    EXPECT_NE(chat_format_names().find(std::string(name)), std::string::npos);
    EXPECT_EQ(detect_chat_format(name), f) << name;  // a name works as a template too
    EXPECT_FALSE(chat_format_end_of_turn(f).empty());
  }
  EXPECT_EQ(chat_format_from_name("nope"), std::nullopt);
  EXPECT_EQ(chat_format_from_name(""), std::nullopt);
  EXPECT_EQ(chat_format_names().substr(0, 22), "chatml, qwen2, qwen2.5");
}

TEST(ChatTemplate, ResolveAndItsErrors) {
  EXPECT_EQ(resolve_chat_format("gemma", "<|im_start|>"), ChatFormat::Gemma);  // name wins
  EXPECT_EQ(resolve_chat_format("", "{{ '<|im_start|>' }}"), ChatFormat::ChatML);
  try {
    resolve_chat_format("", "{{ 'USER: ' + message['content'] }}");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown chat template; pass --chat-template NAME (one of: " +
                                         chat_format_names() + ")");
  }
  EXPECT_THROW(resolve_chat_format("", ""), Error);
  try {
    resolve_chat_format("chatml2", "");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown chat template name 'chatml2'"),
              std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// Detection. Templates are those of llama.cpp's tests/test-chat-template.cpp (full when short,
// the distinguishing part when long) and of the named models' tokenizer_config.json.

TEST(ChatTemplate, DetectsKnownTemplates) {
  struct Case {
    const char* name;
    std::string tmpl;
    std::optional<ChatFormat> expected;
  };
  const std::vector<Case> cases = {
      {"teknium/OpenHermes-2.5-Mistral-7B",
       "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
       "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
       "'<|im_start|>assistant\\n' }}{% endif %}",
       ChatFormat::ChatML},
      {"Qwen/Qwen2-7B-Instruct",
       "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
       "'<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_"
       "start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor "
       "%}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
       ChatFormat::Qwen2},
      {"Qwen/Qwen2.5-7B-Instruct (excerpt)",
       "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n        {{- "
       "'<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
       "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a "
       "helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}\n{%- endif %}",
       ChatFormat::Qwen25},
      {"mistralai/Mistral-7B-Instruct-v0.2 (old)",
       "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
       "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
       "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ "
       "'[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
       "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and "
       "assistant roles are supported!') }}{% endif %}{% endfor %}",
       ChatFormat::MistralLegacy},
      {"meta-llama/Llama-2-7b-chat-hf",
       "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
       "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
       "{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if "
       "loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + "
       "system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
       "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] "
       "' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + "
       "content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
       ChatFormat::Llama2},
      {"mistral 'v1' (excerpt)",
       "{%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is "
       "defined %}\n            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + "
       "' [/INST]' }}\n        {%- else %}\n            {{- ' [INST] ' + message['content'] + ' "
       "[/INST]' }}",
       ChatFormat::MistralV1},
      {"Mistral-Large-Instruct-2407 'v3' (excerpt)",
       "{%- if tools is not none and (message == user_messages[-1]) %}\n            {{- "
       "\"[AVAILABLE_TOOLS] [\" }}\n ... {%- if loop.last and system_message is defined %}\n    "
       "        {{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" "
       "}}",
       ChatFormat::MistralV3},
      {"Mistral-Nemo-Instruct-2407 'v3-tekken' (excerpt)",
       "{{- \"[AVAILABLE_TOOLS][\" }}\n ... {%- else %}\n            {{- \"[INST]\" + "
       "message[\"content\"] + \"[/INST]\" }}",
       ChatFormat::MistralV3Tekken},
      {"mistralai/Mistral-Large-Instruct-2411 'v7'",
       "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] "
       "' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}{{ "
       "'[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] "
       "== 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ "
       "raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% "
       "endfor %}",
       ChatFormat::MistralV7},
      {"Mistral-Small-3.1 'v7-tekken' (excerpt)",
       "{{- '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}{%- for message in "
       "loop_messages %}{%- if message['role'] == 'user' %}{{- '[INST]' + message['content'] + "
       "'[/INST]' }}",
       ChatFormat::MistralV7Tekken},
      {"Llama-3 (meta-llama/Meta-Llama-3-8B-Instruct)",
       "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
       "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | "
       "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% "
       "endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}",
       ChatFormat::Llama3},
      {"meta-llama/Llama-3.2-3B-Instruct (excerpt)",
       "{#- System message #}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{%- "
       "if tools is not none %}\n    {{- \"Environment: ipython\\n\" }}\n{%- endif %}\n{{- "
       "\"Cutting Knowledge Date: December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + "
       "\"\\n\\n\" }}",
       ChatFormat::Llama31},
      {"Phi-3-mini",
       "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|"
       ">' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}{% elif "
       "(message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% "
       "endfor %}",
       ChatFormat::Phi3},
      {"microsoft/Phi-3.5-mini-instruct",
       "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}"
       "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}"
       "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == "
       "'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% "
       "endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}"
       "{% endif %}",
       ChatFormat::Phi3},
      {"phi-4",
       "{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system"
       "<|im_sep|>' + message['content'] + '<|im_end|>'}}{% elif (message['role'] == 'user') %}"
       "{{'<|im_start|>user<|im_sep|>' + message['content'] + '<|im_end|><|im_start|>assistant<|"
       "im_sep|>'}}{% elif (message['role'] == 'assistant') %}{{message['content'] + "
       "'<|im_end|>'}}{% endif %}{% endfor %}",
       ChatFormat::Phi4},
      {"google/gemma-2-2b-it",
       "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
       "not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == "
       "'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must "
       "alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == "
       "'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% "
       "endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + "
       "'<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}"
       "{% endif %}",
       ChatFormat::Gemma},
      // Families rightsize does not render.
      {"eachadea/vicuna-13b-1.1",
       "{%- for message in messages %}{%- if message['role'] == 'system' -%}{{- '' + "
       "message['content'] + '\n\n' -}}{%- else -%}{%- if message['role'] == 'user' -%}{{-'USER: "
       "' + message['content'] + '\n'-}}{%- else -%}{{-'ASSISTANT: ' + message['content'] + "
       "'</s>\n' -}}{%- endif -%}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}{{-"
       "'ASSISTANT:'-}}{%- endif -%}",
       std::nullopt},
      {"CohereForAI/c4ai-command-r-plus (excerpt)",
       "{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}",
       std::nullopt},
      {"SmolVLM (<|im_start|> as BOS, not ChatML)",
       "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}: "
       "{{ message['content'] }}<end_of_utterance>\n{% endfor %}",
       std::nullopt},
      {"empty", "", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(detect_chat_format(c.tmpl), c.expected) << c.name;
  }
}

// The chat templates in the shared oracle models: every one that has a template must be
// detected as its family (phi3 carries Phi-3-mini's; the others carry none).
TEST(ChatTemplate, OracleModelTemplates) {
  RS_REQUIRE_SHARED();
  struct Model {
    const char* file;
    ChatFormat expected;
  };
  const std::vector<Model> models = {
      {"qwen2-f32.gguf", ChatFormat::ChatML},
      {"phi3-f32.gguf", ChatFormat::Phi3},
      {"llama-bpe-f32.gguf", ChatFormat::Llama3},
      {"gemma2-f32.gguf", ChatFormat::Gemma},
  };
  int with_template = 0;
  for (const Model& m : models) {
    const auto path = test::shared_dir() / "oracle" / "models" / m.file;
    auto file = gguf::File::open(path.string());
    const auto tmpl = file->get_string("tokenizer.chat_template");
    if (!tmpl) {
      EXPECT_THROW(resolve_chat_format("", ""), Error) << m.file;
      continue;
    }
    ++with_template;
    EXPECT_EQ(detect_chat_format(*tmpl), m.expected) << m.file;
  }
  EXPECT_GE(with_template, 1);

  // phi3's template is Phi-3-mini's first one ({{ bos_token }}, then for each user message
  // '<|user|>\n' + content + '<|end|>\n<|assistant|>\n' and for each assistant message
  // content + '<|end|>\n'). Rendered by hand for an alternating conversation, it matches.
  auto phi3 =
      gguf::File::open((test::shared_dir() / "oracle" / "models" / "phi3-f32.gguf").string());
  ASSERT_TRUE(phi3->get_string("tokenizer.chat_template"));
  const std::vector<ChatMessage> msgs = {
      {"user", "Hello"}, {"assistant", "Hi there"}, {"user", "Who are you"}};
  EXPECT_EQ(apply_chat_template(ChatFormat::Phi3, msgs, true, "<s>"),
            "<s><|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are "
            "you<|end|>\n<|assistant|>\n");
}

}  // namespace
}  // namespace rs
