// rightsize info MODEL: what a model file holds (architecture, hyper-parameters, tensor types,
// sizes), readable or as --json.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "formats/gguf.h"

namespace rs::cli {

void register_info(CLI::App& app) {
  struct Opts {
    std::string model;
    bool json = false;
    bool all = false;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("info", "Show a model's architecture, hyper-parameters and tensors");
  cmd->add_option("model", opts->model, "GGUF file")->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->add_flag("--all", opts->all, "List every tensor, not only the type summary");
  cmd->callback([opts] {
    auto file = gguf::File::open(opts->model);
    std::map<std::string, std::pair<int, uint64_t>> by_type;  // type -> (count, bytes)
    uint64_t n_params = 0, n_bytes = 0;
    for (const auto& t : file->tensors()) {
      auto& e = by_type[std::string(dtype_name(t.type))];
      e.first++;
      e.second += t.nbytes;
      n_params += static_cast<uint64_t>(t.n_elements());
      n_bytes += t.nbytes;
    }
    if (opts->json) {
      nlohmann::json j;
      j["file"] = opts->model;
      j["gguf_version"] = file->version();
      j["file_bytes"] = file->file_size();
      j["n_params"] = n_params;
      j["tensor_bytes"] = n_bytes;
      for (const auto& [k, v] : file->metadata())
        if (v.type != gguf::ValueType::ARRAY || v.array_size() <= 64) j["metadata"][k] = v.to_string(64);
        else j["metadata"][k] = v.to_string(8);
      for (const auto& [type, e] : by_type) j["tensor_types"][type] = {{"count", e.first}, {"bytes", e.second}};
      for (const auto& t : file->tensors())
        j["tensors"].push_back({{"name", t.name}, {"type", dtype_name(t.type)}, {"ne", t.ne}, {"bytes", t.nbytes}});
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("file:        {} (GGUF v{}, {:.2f} MiB)\n", opts->model, file->version(),
               file->file_size() / 1048576.0);
    fmt::print("parameters:  {} ({:.2f} M), {:.2f} MiB of tensor data\n", n_params, n_params / 1e6,
               n_bytes / 1048576.0);
    fmt::print("metadata:\n");
    for (const auto& [k, v] : file->metadata()) fmt::print("  {:<48} {}\n", k, v.to_string());
    fmt::print("tensor types:\n");
    for (const auto& [type, e] : by_type)
      fmt::print("  {:<6} {:>5} tensors {:>10.2f} MiB\n", type, e.first, e.second / 1048576.0);
    if (opts->all) {
      fmt::print("tensors:\n");
      for (const auto& t : file->tensors())
        fmt::print("  {:<40} {:<6} [{}]\n", t.name, dtype_name(t.type), fmt::join(t.ne, ", "));
    }
  });
}

}  // namespace rs::cli
