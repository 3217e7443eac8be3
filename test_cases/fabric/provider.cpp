// Provider and domain selection (see provider.hpp).
#include "provider.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace awsdt::fabric {
namespace {

constexpr auto kVersion = FI_VERSION(1, 9);  // FI_HMEM and fi_mr_regattr's iface need 1.9

InfoPtr hints_for(const Request& r) {
  InfoPtr hints(fi_allocinfo());
  hints->ep_attr->type = FI_EP_RDM;
  hints->caps = FI_MSG | FI_TAGGED;
  if (r.rma) hints->caps |= FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
  if (r.hmem) hints->caps |= FI_HMEM;
  // Contexts are supplied with every operation, so providers that need them (psm2) are usable too.
  hints->mode = FI_CONTEXT | FI_CONTEXT2;
  hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
  if (r.hmem) hints->domain_attr->mr_mode |= FI_MR_HMEM;
  hints->domain_attr->threading = FI_THREAD_DOMAIN;
  // The check compares message k with window slot k: sends must arrive in the order they were posted.
  hints->tx_attr->msg_order = FI_ORDER_SAS;
  hints->rx_attr->msg_order = FI_ORDER_SAS;
  if (!r.provider.empty()) hints->fabric_attr->prov_name = strdup(r.provider.c_str());
  if (!r.domain.empty()) hints->domain_attr->name = strdup(r.domain.c_str());
  return hints;
}

InfoPtr get_info(const Request& r, int* error) {
  auto hints = hints_for(r);
  fi_info* out = nullptr;
  int ret = fi_getinfo(kVersion, nullptr, nullptr, 0, hints.get(), &out);
  if (error) *error = ret;
  InfoPtr list(ret == 0 ? out : nullptr);
  // Not every provider filters by the domain hint (tcp under RxM offers its domains whatever the name): the one
  // asked for, or none.
  if (list && !r.domain.empty()) {
    fi_info* match = nullptr;
    for (auto* i = list.get(); i && !match; i = i->next)
      if (i->domain_attr->name && r.domain == i->domain_attr->name) match = i;
    if (!match) {
      list.reset();
      if (error) *error = -FI_ENODATA;
    } else if (match != list.get()) {
      list.reset(fi_dupinfo(match));
    }
  }
  if (r.rma && list && list->domain_attr->cq_data_size < 4) list.reset();  // writedata signals the target
  return list;
}

std::string core_name(const char* prov_name) {
  std::string name(prov_name ? prov_name : "");
  return name.substr(0, name.find(';'));  // "tcp;ofi_rxm" is tcp under the RxM utility provider
}

}  // namespace

std::vector<std::string> rdm_providers() {
  std::vector<std::string> names;
  auto list = get_info({}, nullptr);
  for (auto* i = list.get(); i; i = i->next) {
    auto name = core_name(i->fabric_attr->prov_name);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::string default_provider(bool one_host) {
  auto names = rdm_providers();
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  if (has("efa")) return "efa";
  if (one_host && has("shm")) return "shm";
  if (has("tcp")) return "tcp";
  if (names.empty()) AWSDT_THROW("libfabric offers no provider with RDM endpoints here (fi_info -t FI_EP_RDM)");
  return names.front();
}

InfoPtr find_info(const Request& request) { return get_info(request, nullptr); }

InfoPtr require_info(const Request& request) {
  int error = 0;
  auto list = get_info(request, &error);
  if (list) return list;
  auto names = rdm_providers();
  bool exists = std::find(names.begin(), names.end(), request.provider) != names.end();
  if (!exists)
    throw UsageError(fmt::format("-p/--provider {}: no such libfabric provider with RDM endpoints here; providers: {}",
                                 request.provider, fmt::join(names, ", ")));
  if (!request.domain.empty()) {
    const auto domains = domains_of({request.provider, "", request.hmem, request.rma});
    if (std::find(domains.begin(), domains.end(), request.domain) == domains.end())
      throw UsageError(fmt::format("-d/--device {}: provider {} has no such domain; its domains: {}", request.domain,
                                   request.provider, fmt::join(domains, ", ")));
  }
  std::string what = request.domain.empty() ? "" : fmt::format(" domain {}", request.domain);
  throw UsageError(fmt::format("provider {}{} offers no RDM endpoint with FI_MSG and FI_TAGGED{} ({}); providers: {}",
                               request.provider, what, request.hmem ? " and FI_HMEM" : "", fi_strerror(-error),
                               fmt::join(names, ", ")));
}

std::vector<std::string> domains_of(const Request& request) {
  std::vector<std::string> names;
  auto list = require_info(request);
  for (auto* i = list.get(); i; i = i->next) {
    std::string name = i->domain_attr->name ? i->domain_attr->name : "";
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

nlohmann::json info_json(const fi_info& i) {
  auto str = [](const void* value, fi_type type) {
    std::string s = fi_tostr(value, type);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  return {{"provider", i.fabric_attr->prov_name ? i.fabric_attr->prov_name : ""},
          {"fabric", i.fabric_attr->name ? i.fabric_attr->name : ""},
          {"domain", i.domain_attr->name ? i.domain_attr->name : ""},
          {"max_msg_size", i.ep_attr->max_msg_size},
          {"inject_size", i.tx_attr->inject_size},
          {"mr_mode", str(&i.domain_attr->mr_mode, FI_TYPE_MR_MODE)},
          {"hmem", (i.caps & FI_HMEM) != 0},
          {"rma", (i.caps & FI_RMA) != 0},
          {"cq_data_size", i.domain_attr->cq_data_size},
          {"msg_order", str(&i.tx_attr->msg_order, FI_TYPE_MSG_ORDER)},
          {"data_progress", str(&i.domain_attr->data_progress, FI_TYPE_PROGRESS)}};
}

std::string info_line(const fi_info& i) {
  auto j = info_json(i);
  return fmt::format("provider {} fabric {} domain {} max_msg_size {} inject_size {} mr_mode [{}] hmem {} rma {}",
                     j["provider"].get<std::string>(), j["fabric"].get<std::string>(), j["domain"].get<std::string>(),
                     j["max_msg_size"].get<std::uint64_t>(), j["inject_size"].get<std::uint64_t>(),
                     j["mr_mode"].get<std::string>(), j["hmem"].get<bool>() ? "yes" : "no",
                     j["rma"].get<bool>() ? "yes" : "no");
}

}  // namespace awsdt::fabric
