// Deciding, container by container, what an earlier run left us.
#include "actors/adoption.hpp"

#include <map>

namespace corral {

adoption_plan plan_adoption(const std::vector<container_info>& found, const std::string& pool,
                            uint16_t start_port, uint32_t size, uint64_t spec) {
  adoption_plan plan;
  // The best candidate per port so far (an index into `found`).
  std::map<uint16_t, size_t> chosen;
  auto drop = [&](const container_info& c, std::string reason) {
    plan.remove.push_back({c.id, c.name, std::move(reason)});
  };
  for (size_t i = 0; i < found.size(); ++i) {
    auto& c = found[i];
    if (c.status != container_status::running) {
      drop(c, std::string{"not running ("} + to_string(c.status) + ")");
      continue;
    }
    if (c.port == 0) {
      drop(c, "no corral.port label");
      continue;
    }
    if (c.name != pool + "-" + std::to_string(c.port)) {
      drop(c, "renamed on its way out (" + c.name + ")");
      continue;
    }
    if (c.port < start_port || uint32_t{c.port} >= uint32_t{start_port} + size) {
      drop(c, "port " + std::to_string(c.port) + " is beyond the pool's "
                + std::to_string(size) + " container(s) from " + std::to_string(start_port));
      continue;
    }
    auto [at, fresh] = chosen.try_emplace(c.port, i);
    if (fresh)
      continue;
    // Two containers claim one port: keep the one of the pool's spec.
    auto& kept = found[at->second];
    bool better = parse_spec_label(c.labels) == spec && parse_spec_label(kept.labels) != spec;
    auto reason = "a second container for port " + std::to_string(c.port);
    if (better) {
      drop(kept, reason);
      at->second = i;
    } else {
      drop(c, reason);
    }
  }
  for (auto& [port, i] : chosen)
    plan.adopt.push_back({port, found[i].id, parse_spec_label(found[i].labels)});
  return plan;
}

} // namespace corral
