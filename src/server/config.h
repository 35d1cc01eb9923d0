// What `rightsize serve` runs: the listening socket, limits, keys and the models, from command-line
// flags or a YAML file (docs/config.md documents every key; examples/rightsize.yaml shows them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "router/ledger.h"
#include "router/pii_guard.h"
#include "router/policy.h"
#include "server/cache_stage.h"
#include "upstream/client.h"

namespace YAML {
class Node;
}

namespace rs::server {

// A LoRA adapter served on top of a model; clients ask for it as "MODEL:NAME".
struct AdapterConfig {
  std::string name;
  std::string path;  // PEFT folder (adapter_config.json + adapter_model.safetensors) or GGUF LoRA
};

struct ModelConfig {
  std::string name;                     // what clients pass as "model"
  std::string path;                     // GGUF file or Hugging Face folder
  std::string tokenizer;                // optional tokenizer override (GGUF or tokenizer.json)
  std::string chat_template;            // optional chat format name; default: detected, else chatml
  int parallel = 4;                     // sequences decoded together (slots)
  int64_t ctx_size = 2048;              // context per slot
  std::string kv_type = "f16";          // the slots' KV caches: "f16" or "f32" (exact)
  int64_t batch_tokens = 256;           // tokens per forward pass at most
  int queue = 64;                       // waiting requests beyond the slots; more get 429
  int threads = 0;                      // compute threads; 0: one per core
  std::vector<AdapterConfig> adapters;  // loaded at start; more via POST /v1/load_lora_adapter
  double price_per_hour = 0;            // $ per hour of this machine, for the cost ledger
};

// A hosted (or any OpenAI-compatible) LLM the router escalates to: endpoints in fallback order.
struct UpstreamConfig {
  std::string name;
  std::vector<upstream::Endpoint> endpoints;
  upstream::ClientOptions client;
  router::TokenPrices prices;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> api_keys;        // empty: no authentication (then only loopback binds)
  std::vector<std::string> admin_api_keys;  // for /admin/*; empty: the api_keys
  bool allow_unauthenticated_remote = false;
  int64_t max_body_bytes = 4 << 20;
  double request_timeout_s = 600;
  double shutdown_grace_s = 10;
  int http_threads = 0;          // 0: enough for every slot and queue entry
  bool runtime_adapters = true;  // POST /v1/load_lora_adapter and /v1/unload_lora_adapter
  std::vector<ModelConfig> models;
  std::vector<UpstreamConfig> upstreams;
  std::optional<router::RouterConfig> router;
  std::optional<CacheConfig> cache;      // the response cache of routed requests; unset: none
  std::optional<router::PiiConfig> pii;  // the PII guard of routed requests; unset: none
  router::PiiAction pii_action = router::PiiAction::kRedact;  // for routes that do not say

  // Throws rs::Error for contradictions (duplicate names, no model, remote bind without a key).
  void validate() const;
};

// Reads a YAML config. Unknown keys, wrong types and missing required keys are rs::Error naming
// the key and the line. Relative model paths are resolved against the file's folder;
// `api_key_env: NAME` adds the key held by that environment variable.
ServerConfig load_server_config(const std::string& path);

// The `upstreams` and `router` sections (router_config.cpp).
std::vector<UpstreamConfig> read_upstreams(const YAML::Node& list);
router::RouterConfig read_router(const YAML::Node& map, const std::filesystem::path& base);
// The `cache` and `pii` sections (cache_config.cpp).
CacheConfig read_cache(const YAML::Node& map, const std::filesystem::path& base);
router::PiiConfig read_pii(const YAML::Node& map, router::PiiAction& default_action);
router::PiiAction parse_pii_action(const std::string& s, const std::string& where);
// Routes name served models and upstreams that exist; names are unique.
void validate_routing(const ServerConfig& cfg);

bool is_loopback_host(const std::string& host);
// Adapter names: 1-64 of [A-Za-z0-9._-] (they appear in "MODEL:ADAPTER" and in metric labels).
bool is_valid_adapter_name(const std::string& name);

}  // namespace rs::server
