#include "server/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace rs::server {
namespace {

// Label values escape backslash, double quote and newline; help text backslash and newline.
std::string escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string label_text(const Labels& labels, const std::string& extra_key = "",
                       const std::string& extra_val = "") {
  std::string out;
  for (const auto& [k, v] : labels)
    out += (out.empty() ? "" : ",") + k + "=\"" + escape(v, true) + "\"";
  if (!extra_key.empty()) out += (out.empty() ? "" : ",") + extra_key + "=\"" + extra_val + "\"";
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

Metrics::Family& Metrics::family(const std::string& name, Kind kind) {
  auto it = families_.find(name);
  RS_CHECK(it != families_.end() && it->second.kind == kind,
           "metric {} is not declared as that kind", name);
  return it->second;
}

void Metrics::counter(const std::string& name, const std::string& help) {
  std::lock_guard lk(mu_);
  families_[name] = Family{Kind::Counter, help, {}, {}};
}

void Metrics::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lk(mu_);
  families_[name] = Family{Kind::Gauge, help, {}, {}};
}

void Metrics::histogram(const std::string& name, const std::string& help,
                        std::vector<double> buckets) {
  std::sort(buckets.begin(), buckets.end());
  std::lock_guard lk(mu_);
  families_[name] = Family{Kind::Histogram, help, std::move(buckets), {}};
}

void Metrics::inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lk(mu_);
  family(name, Kind::Counter).series[labels].value += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lk(mu_);
  family(name, Kind::Gauge).series[labels].value = value;
}

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lk(mu_);
  Family& f = family(name, Kind::Histogram);
  Series& s = f.series[labels];
  if (s.bucket_counts.empty()) s.bucket_counts.assign(f.buckets.size() + 1, 0);
  const size_t b = static_cast<size_t>(std::lower_bound(f.buckets.begin(), f.buckets.end(), value) -
                                       f.buckets.begin());
  ++s.bucket_counts[b];
  s.sum += value;
  ++s.count;
}

void Metrics::on_render(std::function<void(Metrics&)> fn) {
  std::lock_guard lk(mu_);
  refreshers_.push_back(std::move(fn));
}

std::string Metrics::render() {
  std::vector<std::function<void(Metrics&)>> refreshers;
  {
    std::lock_guard lk(mu_);
    refreshers = refreshers_;
  }
  for (auto& fn : refreshers) fn(*this);

  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static const char* kinds[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name + " " + escape(f.help, false) + "\n";
    out += "# TYPE " + name + " " + kinds[static_cast<int>(f.kind)] + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::Histogram) {
        out += name + label_text(labels) + " " + number(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t b = 0; b <= f.buckets.size(); ++b) {
        cumulative += s.bucket_counts[b];
        const std::string le = b < f.buckets.size() ? number(f.buckets[b]) : "+Inf";
        out += name + "_bucket" + label_text(labels, "le", le) + " " +
               number(static_cast<double>(cumulative)) + "\n";
      }
      out += name + "_sum" + label_text(labels) + " " + number(s.sum) + "\n";
      out +=
          name + "_count" + label_text(labels) + " " + number(static_cast<double>(s.count)) + "\n";
    }
  }
  return out;
}

}  // namespace rs::server
