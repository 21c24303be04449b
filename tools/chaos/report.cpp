// Renders a chaos run's result as tables and as JSON (see report.hpp).
#include "tools/chaos/report.hpp"

#include "app/units.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace corral::chaos {

namespace json = boost::json;

bool pool_check::whole_and_healthy() const {
  return answered && desired > 0 && slots == desired && ready == desired && healthy == desired
         && running == static_cast<int>(desired);
}

uint64_t chaos_report::failed() const {
  uint64_t n = 0;
  for (auto& [kind, count] : failures)
    n += count;
  return n;
}

std::size_t chaos_report::count(fault_kind kind) const {
  return static_cast<std::size_t>(std::count_if(
    faults.begin(), faults.end(), [kind](const fault_record& f) { return f.kind == kind; }));
}

std::size_t chaos_report::unrepaired() const {
  return static_cast<std::size_t>(std::count_if(
    faults.begin(), faults.end(), [](const fault_record& f) { return !f.replacement_ms; }));
}

fault_timings timings(const chaos_report& report, fault_kind kind) {
  std::vector<double> detection;
  std::vector<double> replacement;
  for (auto& f : report.faults) {
    if (f.kind != kind)
      continue;
    if (f.detection_ms)
      detection.push_back(*f.detection_ms);
    if (f.replacement_ms)
      replacement.push_back(*f.replacement_ms);
  }
  return {summarize(std::move(detection)), summarize(std::move(replacement))};
}

std::vector<std::pair<std::string, spread>> phase_timings(const chaos_report& report,
                                                          fault_kind kind) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> samples;
  for (auto& f : report.faults) {
    if (f.kind != kind)
      continue;
    std::map<std::string, double> spent;
    for (auto& [state, ms] : f.phases_ms) {
      if (std::find(order.begin(), order.end(), state) == order.end())
        order.push_back(state);
      spent[state] += ms;
    }
    for (auto& [state, ms] : spent)
      samples[state].push_back(ms);
  }
  std::vector<std::pair<std::string, spread>> result;
  for (auto& state : order)
    result.emplace_back(state, *summarize(samples[state]));
  return result;
}

bool is_clean(const chaos_report& report) {
  return report.failed() == 0 && report.injection_errors.empty() && report.unrepaired() == 0
         && report.end.whole_and_healthy();
}

int exit_status(const chaos_report& report) {
  return is_clean(report) && !report.interrupted ? 0 : 1;
}

namespace {

std::string verdict(const chaos_report& r) {
  std::string text = is_clean(r) ? "clean" : "NOT clean";
  if (r.interrupted)
    text += ", but interrupted: shorter than asked";
  return text;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string seconds(double ms) {
  return fixed(ms / 1000, 1) + " s";
}

std::string load_text(const chaos_report& r) {
  std::string text = std::to_string(r.load_threads) + " threads, GET " + r.load_path
                     + " through " + r.proxy + ", ";
  text += r.load_rate > 0 ? fixed(r.load_rate, 0) + " requests/s in all"
                          : std::string{"each as fast as answers come"};
  return text;
}

std::string faults_text(const chaos_report& r) {
  std::string text;
  if (r.kill_every.count() > 0)
    text += "SIGKILL every " + corral::format_duration(r.kill_every);
  if (r.crash_every.count() > 0)
    text += (text.empty() ? "" : ", ") + std::string{"POST /api/v1/_crash every "}
            + corral::format_duration(r.crash_every);
  return text + " for " + seconds(r.injecting_ms) + (r.interrupted ? " (interrupted)" : "");
}

std::string pool_text(const pool_check& end, const std::string& health_path) {
  if (!end.answered)
    return "unknown: /status did not answer";
  std::string text = std::to_string(end.ready) + " of " + std::to_string(end.desired)
                     + " ready";
  if (end.slots != end.desired)
    text += " (" + std::to_string(end.slots) + " slots)";
  text += ", " + std::to_string(end.healthy) + " answer GET " + health_path + ", ";
  text += end.running < 0 ? std::string{"Docker did not answer"}
                          : std::to_string(end.running) + " running in Docker";
  return text + (end.whole_and_healthy() ? ": whole and healthy" : ": NOT whole and healthy");
}

void timing_row(std::ostringstream& out, const std::string& label,
                const std::optional<spread>& s, std::size_t injected) {
  out << "| " << label << " | ";
  if (!s) {
    out << "0 of " << injected << " | - | - | - |\n";
    return;
  }
  out << s->count << " of " << injected << " | " << fixed(s->min, 0) << " | "
      << fixed(s->median, 0) << " | " << fixed(s->max, 0) << " |\n";
}

/// The last fault injected at or before `ms`, to place a failure in context.
const fault_record* fault_before(const chaos_report& r, double ms) {
  const fault_record* last = nullptr;
  for (auto& f : r.faults)
    if (f.at_ms <= ms)
      last = &f;
  return last;
}

// Whole numbers in the JSON: the times are good to ~10 ms, and Boost.JSON
// writes doubles in exponent form ("5.894E2"), which people misread.
json::value whole(double value) {
  return static_cast<int64_t>(std::llround(value));
}

json::object spread_json(const std::optional<spread>& s, double scale = 1) {
  if (!s)
    return {{"n", 0}};
  return {{"n", s->count},
          {"min", whole(s->min * scale)},
          {"median", whole(s->median * scale)},
          {"max", whole(s->max * scale)}};
}

json::value optional_json(const std::optional<double>& v) {
  return v ? whole(*v) : json::value(nullptr);
}

} // namespace

std::string render_table(const chaos_report& r) {
  std::ostringstream out;
  out << "| chaos run | pool " << r.pool << " |\n|---|---|\n";
  out << "| load | " << load_text(r) << " |\n";
  out << "| faults | " << faults_text(r) << " |\n";
  out << "| kills (SIGKILL) | " << r.count(fault_kind::kill) << " |\n";
  out << "| crashes (POST /api/v1/_crash) | " << r.count(fault_kind::crash) << " |\n";
  if (r.skipped > 0 || !r.injection_errors.empty())
    out << "| injections skipped / failed | " << r.skipped << " / "
        << r.injection_errors.size() << " |\n";
  out << "| requests sent | " << r.sent << " |\n";
  out << "| requests ok (2xx) | " << r.ok << " |\n";
  out << "| failed idempotent requests | " << r.failed() << " |\n";
  for (auto& [kind, count] : r.failures)
    out << "| &nbsp;&nbsp;" << kind << " | " << count << " |\n";
  if (r.proxy_delta) {
    auto& p = *r.proxy_delta;
    out << "| corral's proxy meanwhile | " << p.requests << " requests, " << p.retries
        << " attempts retried on another backend, " << p.bad_gateway << " x 502, "
        << p.no_backend << " x 503, " << p.gateway_timeout << " x 504 |\n";
  }
  out << "| settling after the last fault | " << seconds(r.settling_ms) << " |\n";
  out << "| pool at the end | " << pool_text(r.end, r.health_path) << " |\n";
  out << "| verdict | " << verdict(r) << " |\n\n";

  out << "| time from the fault (ms) | seen | min | median | max |\n"
      << "|---|---:|---:|---:|---:|\n";
  for (auto kind : {fault_kind::kill, fault_kind::crash}) {
    auto injected = r.count(kind);
    if (injected == 0)
      continue;
    auto t = timings(r, kind);
    timing_row(out, std::string{to_string(kind)} + " → detection", t.detection, injected);
    timing_row(out, std::string{to_string(kind)} + " → replacement ready", t.replacement,
               injected);
    for (auto& [state, spent] : phase_timings(r, kind))
      timing_row(out, "&nbsp;&nbsp;of which in state " + state, spent, injected);
  }
  out << "\nEvery load request is a GET, so every failed one is a failed idempotent request.\n"
      << "Detection: the first /status in which the victim's port no longer shows it ready.\n"
      << "Replacement ready: the first /status showing the port ready with a new container.\n"
      << "States: how long the slot showed each state between the two (\"seen\": faults that "
         "passed through it).\n"
      << "/status was read every " << corral::format_duration(r.poll_every);
  if (r.status_round_trip)
    out << " (round trip median " << fixed(r.status_round_trip->median, 1) << " ms, max "
        << fixed(r.status_round_trip->max, 1) << " ms)";
  out << ", so each time overstates the true one by at most a poll period plus a round trip.";
  if (r.status_poll_errors > 0)
    out << " " << r.status_poll_errors << " polls of /status got no usable answer.";
  out << " Seed " << r.seed << ".\n";

  for (auto& e : r.injection_errors)
    out << "injection failed: " << e << "\n";
  if (!r.failure_log.empty()) {
    out << "\nFirst failed requests (ms after chaos started, as in its progress lines):\n";
    std::size_t shown = std::min<std::size_t>(r.failure_log.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) {
      auto& f = r.failure_log[i];
      out << "  sent " << fixed(f.sent_ms, 0) << ", ended " << fixed(f.ended_ms, 0) << ": "
          << f.kind;
      if (auto* before = fault_before(r, f.sent_ms))
        out << " (" << fixed(f.sent_ms - before->at_ms, 0) << " ms after the "
            << to_string(before->kind) << " on port " << before->port << ")";
      if (!f.detail.empty())
        out << " - " << f.detail;
      out << "\n";
    }
    if (r.failure_log.size() > shown)
      out << "  ... " << r.failure_log.size() - shown << " more recorded\n";
  }
  return out.str();
}

std::string render_json(const chaos_report& r) {
  json::object failures;
  for (auto& [kind, count] : r.failures)
    failures[kind] = count;
  json::array faults;
  for (auto& f : r.faults) {
    json::array phases;
    for (auto& [state, ms] : f.phases_ms)
      phases.push_back({{"state", state}, {"ms", whole(ms)}});
    faults.push_back({{"kind", to_string(f.kind)},
                      {"port", f.port},
                      {"at_ms", whole(f.at_ms)},
                      {"detection_ms", optional_json(f.detection_ms)},
                      {"replacement_ms", optional_json(f.replacement_ms)},
                      {"phases", std::move(phases)}});
  }
  json::object times;
  for (auto kind : {fault_kind::kill, fault_kind::crash}) {
    auto t = timings(r, kind);
    json::object phases;
    for (auto& [state, spent] : phase_timings(r, kind))
      phases[state] = spread_json(spent);
    times[to_string(kind)] = {{"detection_ms", spread_json(t.detection)},
                              {"replacement_ms", spread_json(t.replacement)},
                              {"phases_ms", std::move(phases)}};
  }
  json::object doc{
    {"pool", r.pool},
    {"seed", r.seed},
    {"load", {{"threads", r.load_threads}, {"path", r.load_path}, {"rate", r.load_rate == std::floor(r.load_rate) ? whole(r.load_rate)
                                      : json::value(r.load_rate)}}},
    {"injecting_ms", whole(r.injecting_ms)},
    {"settling_ms", whole(r.settling_ms)},
    {"interrupted", r.interrupted},
    {"kills", r.count(fault_kind::kill)},
    {"crashes", r.count(fault_kind::crash)},
    {"skipped", r.skipped},
    {"injection_errors", r.injection_errors.size()},
    {"unrepaired", r.unrepaired()},
    {"sent", r.sent},
    {"ok", r.ok},
    {"failed", r.failed()},
    {"failures", std::move(failures)},
    {"times", std::move(times)},
    {"proxy", r.proxy_delta ? json::value{{"requests", r.proxy_delta->requests},
                                           {"retries", r.proxy_delta->retries},
                                           {"bad_gateway", r.proxy_delta->bad_gateway},
                                           {"no_backend", r.proxy_delta->no_backend},
                                           {"gateway_timeout", r.proxy_delta->gateway_timeout}}
                             : json::value(nullptr)},
    {"status_round_trip_us", spread_json(r.status_round_trip, 1000)},
    {"pool_end",
     {{"answered", r.end.answered},
      {"desired", r.end.desired},
      {"slots", r.end.slots},
      {"ready", r.end.ready},
      {"healthy", r.end.healthy},
      {"running", r.end.running},
      {"whole_and_healthy", r.end.whole_and_healthy()}}},
    {"clean", is_clean(r)},
    {"faults", std::move(faults)},
  };
  return json::serialize(doc);
}

} // namespace corral::chaos
