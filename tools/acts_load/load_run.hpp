// One acts-load run: upload generated PNG acts, then check every acknowledged one was stored intact.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>

#include "tools/acts_load/api_client.hpp"

namespace acts_load {

/// What to upload, and where.
struct load_options {
  std::string base_url = "http://127.0.0.1:8080";  ///< loopback only (corral::http::loopback_base_url)
  int images = 100;
  int categories = 5;
  std::uint64_t seed = 0;                           ///< image sizes and pixels
  std::size_t min_kb = 10;
  std::size_t max_kb = 1024;
  int attempts = 4;                                 ///< per upload, first try included
};

/// The tally printed at the end of a run.
struct load_summary {
  int uploaded = 0;       ///< images we tried to upload
  int acknowledged = 0;   ///< answered 201, or found stored after an ambiguous retry
  int resolved = 0;       ///< of those: a retry said 400 and reading showed it stored
  int failed = 0;         ///< never acknowledged; reported with a reason
  int verified = 0;       ///< acknowledged and read back with identical bytes
  int missing = 0;        ///< acknowledged but not found
  int corrupted = 0;      ///< acknowledged but found with other bytes or fields
  int duplicates = 0;     ///< actIds listed more than once
  int stored_unacknowledged = 0; ///< failed uploads that were stored after all (not an error)
  int retries = 0;        ///< attempts repeated after a connection error or a 5xx
  int count_mismatches = 0; ///< categories whose size, listing and uploads disagree
  std::map<std::string, int> failure_reasons;       ///< reason -> uploads
  /// Per category: acts acknowledged there, acts of this run listed there,
  /// all acts listed, and what /acts/size and /categories said.
  struct category_tally {
    int acknowledged = 0;
    int listed_ours = 0;
    std::int64_t listed = 0;
    std::int64_t size = -1;
    std::int64_t in_overview = -1;
  };
  std::map<std::string, category_tally> categories;
  std::string setup_error;                          ///< why the run could not start, else empty

  /// A run passes when every acknowledged act is stored once and intact.
  bool ok() const { return setup_error.empty() && missing == 0 && corrupted == 0 && duplicates == 0
           && count_mismatches == 0; }
};

/// Runs the whole load: creates the user and categories, uploads, reads
/// everything back and verifies it. Progress and problems go to `log`.
load_summary run_load(const load_options& options, std::ostream& log);

/// Why a request failed, on one line (the summary lists failures one per
/// line): "no response: <libcurl's reason>" or "HTTP <status>: <the JSON
/// "error" text, else the start of the body>", whitespace runs folded.
std::string describe(const http_result& result);

/// Prints the summary table.
void print_summary(const load_options& options, const load_summary& summary, std::ostream& out);

} // namespace acts_load
