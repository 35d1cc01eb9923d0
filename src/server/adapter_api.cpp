// Loading and unloading LoRA adapters while the server runs, with vLLM's endpoints and fields so
// existing tooling works: POST /v1/load_lora_adapter {"lora_name", "lora_path"} and POST
// /v1/unload_lora_adapter {"lora_name"}. "model" names the base model when the server has several
// ("lora_name": "MODEL:NAME" works too). Requests already running keep the adapter they started
// with; a reload under the same name affects requests that start afterwards.
#include <httplib.h>

#include "core/error.h"
#include "server/http_util.h"
#include "server/openai_api.h"
#include "server/server.h"

namespace rs::server {
namespace {

struct AdapterRequest {
  std::string model, name, path;
};

AdapterRequest parse_adapter_request(const std::string& body, bool need_path) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw ApiError{400, fmt::format("the body is not valid JSON: {}", e.what()),
                   "invalid_request_error", "", "invalid_json"};
  }
  if (!j.is_object())
    throw ApiError{400, "the body must be a JSON object", "invalid_request_error", "", ""};
  AdapterRequest r;
  for (const auto& [key, v] : j.items()) {
    std::string* field = key == "model"       ? &r.model
                         : key == "lora_name" ? &r.name
                         : key == "lora_path" ? &r.path
                                              : nullptr;
    if (!field)
      throw ApiError{400,
                     fmt::format("unknown field '{}' (expected lora_name, lora_path, model)", key),
                     "invalid_request_error", key, ""};
    if (!v.is_string())
      throw ApiError{400, fmt::format("'{}' must be a string", key), "invalid_request_error", key,
                     ""};
    *field = v.get<std::string>();
  }
  if (const size_t colon = r.name.rfind(':'); colon != std::string::npos && r.model.empty()) {
    r.model = r.name.substr(0, colon);
    r.name = r.name.substr(colon + 1);
  }
  if (!is_valid_adapter_name(r.name))
    throw ApiError{
        400, fmt::format("lora_name '{}' must be 1-64 letters, digits, '-', '_' or '.'", r.name),
        "invalid_request_error", "lora_name", ""};
  if (need_path && r.path.empty())
    throw ApiError{400, "lora_path is required: a PEFT folder or a GGUF LoRA file on the server",
                   "invalid_request_error", "lora_path", ""};
  return r;
}

}  // namespace

void Server::adapter_routes() {
  auto handler = [this](bool load) {
    return [this, load](const httplib::Request& req, httplib::Response& res) {
      const std::string path = load ? "/v1/load_lora_adapter" : "/v1/unload_lora_adapter";
      try {
        const AdapterRequest r = parse_adapter_request(req.body, load);
        ServedModel* m = resolve_model(r.model).model;
        if (!m->adapters)
          throw ApiError{400, fmt::format("model '{}' cannot take LoRA adapters", m->cfg.name),
                         "invalid_request_error", "model", ""};
        const std::string full = m->cfg.name + ":" + r.name;
        if (load) {
          try {
            m->adapters->load(r.name, r.path);
          } catch (const Error& e) {
            throw ApiError{400, fmt::format("cannot load adapter '{}': {}", full, e.what()),
                           "invalid_request_error", "lora_path", "adapter_load_failed"};
          }
          fmt::print(stderr, "serve: loaded adapter {} from {}\n", full, r.path);
        } else if (!m->adapters->unload(r.name)) {
          throw ApiError{404, fmt::format("model '{}' has no adapter '{}'", m->cfg.name, r.name),
                         "invalid_request_error", "lora_name", "model_not_found"};
        } else {
          fmt::print(stderr, "serve: unloaded adapter {}\n", full);
        }
        send_json(res, 200, {{"object", "lora_adapter"}, {"id", full}, {"loaded", load}});
      } catch (const ApiError& e) {
        send_error(res, e);
      }
      count(path, "", res.status);
    };
  };
  http_->Post("/v1/load_lora_adapter", handler(true));
  http_->Post("/v1/unload_lora_adapter", handler(false));
}

}  // namespace rs::server
