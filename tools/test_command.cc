// `tessera test DIR...`: runs ONNX conformance cases in-process. A case is a folder with
// model.onnx and test_data_set_N/ folders. Unsupported cases count as failed, never skipped.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/value_io.h"
#include "tessera/session.h"
#include "tools/cli_errors.h"
#include "tools/commands.h"
#include "tools/compare.h"
#include "tools/io_files.h"
#include "tools/session_flags.h"

namespace fs = std::filesystem;

namespace tessera::cli {

namespace {

void find_cases(const fs::path& dir, std::vector<fs::path>& cases) {
  std::error_code ec;
  if (fs::exists(dir / "model.onnx", ec)) {
    cases.push_back(dir);
    return;
  }
  std::vector<fs::path> children;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec)) children.push_back(entry.path());
  std::sort(children.begin(), children.end());
  for (const auto& child : children) find_cases(child, cases);
}

// The case's tolerance: the runner's defaults, then its data.json's "rtol"/"atol" (as the ONNX
// backend runner reads them for real-model cases), then --rtol/--atol.
Result<Tolerance> case_tolerance(const fs::path& dir, const TestArgs& args) {
  Tolerance tolerance;
  std::error_code ec;
  const fs::path json_path = dir / "data.json";
  if (fs::exists(json_path, ec)) {
    std::ifstream in(json_path);
    nlohmann::json data = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded() || !data.is_object()) return invalid_argument("'", json_path.string(), "' is not a JSON object");
    for (auto [key, field] : {std::pair{"rtol", &tolerance.rtol}, std::pair{"atol", &tolerance.atol}}) {
      if (!data.contains(key)) continue;
      if (!data[key].is_number()) return invalid_argument("'", json_path.string(), "': \"", key, "\" is not a number");
      *field = data[key].get<double>();
    }
  }
  if (args.rtol) tolerance.rtol = *args.rtol;
  if (args.atol) tolerance.atol = *args.atol;
  return tolerance;
}

// Empty when the case passes, else why not.
std::string run_case(const fs::path& dir, const SessionOptions& options, const TestArgs& args) {
  auto tolerance = case_tolerance(dir, args);
  if (!tolerance.is_ok()) return tolerance.status().message();
  auto session = Session::load((dir / "model.onnx").string(), options);
  if (!session.is_ok()) return session.status().message();
  const Session& s = *session;

  std::vector<fs::path> data_sets;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec) && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      data_sets.push_back(entry.path());
  std::sort(data_sets.begin(), data_sets.end());
  if (data_sets.empty()) return "no test_data_set_N folder";

  for (const auto& data_set : data_sets) {
    std::string where = data_sets.size() > 1 ? data_set.filename().string() + ": " : "";
    auto input_files = numbered_files(data_set.string(), "input");
    if (!input_files.is_ok()) return where + input_files.status().message();
    auto feeds = read_feeds(*input_files, s.inputs());
    if (!feeds.is_ok()) return where + feeds.status().message();
    auto output_files = numbered_files(data_set.string(), "output");
    if (!output_files.is_ok()) return where + output_files.status().message();
    if (output_files->size() != s.outputs().size())
      return str_cat(where, output_files->size(), " expected outputs but the model has ", s.outputs().size());

    auto got = s.run(*feeds);
    if (!got.is_ok()) return where + got.status().message();
    for (size_t k = 0; k < output_files->size(); ++k) {
      auto want = read_value_file((*output_files)[k], type_for(s.outputs()[k]));
      if (!want.is_ok()) return where + want.status().message();
      std::string diff = compare_values((*got)[k], want->value, *tolerance).difference;
      if (!diff.empty()) return str_cat(where, "output ", k, " ('", s.outputs()[k].name, "'): ", diff);
    }
  }
  return "";
}

// The case each worker is running, so that a crash (a bug in a kernel) names it before the
// process dies instead of ending the whole run with a bare "Segmentation fault".
constexpr int kMaxWorkers = 64;
std::atomic<const char*> running_case[kMaxWorkers];

void report_crash(int signal_number) {
  for (auto& slot : running_case) {
    const char* name = slot.load();
    if (!name) continue;
    const char prefix[] = "error: crashed (signal ";
    char number[4] = {static_cast<char>('0' + signal_number / 10 % 10), static_cast<char>('0' + signal_number % 10), ')', ' '};
    const char middle[] = "while running case ";
    ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
    ignored = write(2, number, sizeof(number));
    ignored = write(2, middle, sizeof(middle) - 1);
    ignored = write(2, name, strlen(name));
    ignored = write(2, "\n", 1);
    (void)ignored;
  }
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

// A case listed as expected to fail. A reason that starts with "random:" says the case's expected
// outputs are unseeded random draws: a run can match them by chance, so passing is no error.
struct ExpectedFailure {
  std::string reason;
  bool may_pass = false;
};

// SUITE/CASE -> its entry, from a file of "SUITE/CASE reason" lines ('#' starts a comment).
Result<std::map<std::string, ExpectedFailure>> read_expected_failures(const std::string& path) {
  std::ifstream in(path);
  if (!in) return io_error("cannot read the expected-failures file '", path, "'");
  std::map<std::string, ExpectedFailure> expected;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t end = line.find_first_of(" \t", start);
    std::string label = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t reason_at = end == std::string::npos ? std::string::npos : line.find_first_not_of(" \t", end);
    if (reason_at == std::string::npos)
      return invalid_argument(path, ":", number, ": '", label, "' needs a reason after the case name");
    std::string reason = line.substr(reason_at);
    const bool may_pass = reason.starts_with("random:");
    expected[label] = {std::move(reason), may_pass};
  }
  return expected;
}

// Failures outside the list, listed cases that passed (unless random) or were not run: each is
// an error.
int check_expected_failures(const std::map<std::string, ExpectedFailure>& expected, const std::map<std::string, bool>& outcome) {
  int problems = 0;
  for (const auto& [label, passed] : outcome) {
    auto listed = expected.find(label);
    if (!passed && listed == expected.end()) {
      std::cerr << "error: " << label << " failed and is not in the expected-failures list (a regression?)\n";
      ++problems;
    } else if (passed && listed != expected.end() && !listed->second.may_pass) {
      std::cerr << "error: " << label << " passed but is listed as expected to fail: remove it from the list\n";
      ++problems;
    }
  }
  for (const auto& [label, entry] : expected)
    if (!outcome.count(label)) {
      std::cerr << "error: " << label << " is listed as expected to fail but was not run: remove it from the list\n";
      ++problems;
    }
  return problems;
}

}  // namespace

int test_command(const TestArgs& args) {
  LimitFlags flags;
  flags.inter_op_threads = args.inter_op_threads;
  auto options = session_options(args.threads, args.opt_level, args.log_level, "", args.ep, flags);
  if (!options.is_ok()) {
    std::cerr << "error: " << options.status().message() << "\n";
    return kExitUsage;
  }
  std::map<std::string, ExpectedFailure> expected;
  if (!args.expected_failures.empty()) {
    auto read = read_expected_failures(args.expected_failures);
    if (!read.is_ok()) {
      std::cerr << "error: " << read.status().message() << "\n";
      return kExitUsage;
    }
    expected = std::move(read).value();
  }
  std::vector<fs::path> cases;
  for (const auto& dir : args.dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      std::cerr << "error: '" << dir << "' is not a folder\n";
      return kExitUsage;
    }
    find_cases(dir, cases);
  }
  if (cases.empty()) {
    std::cerr << "error: no test case (a folder with model.onnx and test_data_set_N/) under";
    for (const auto& dir : args.dirs) std::cerr << " '" << dir << "'";
    std::cerr << "\n";
    return kExitUsage;
  }

  // Cases run on `jobs` threads; results are printed in case order once all are done.
  std::vector<std::string> reasons(cases.size());
  std::atomic<size_t> next{0};
  std::vector<std::string> case_names(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) case_names[i] = cases[i].string();
  for (int sig : {SIGSEGV, SIGFPE, SIGBUS, SIGILL, SIGABRT}) signal(sig, report_crash);
  auto worker = [&](int id) {
    for (size_t i; (i = next.fetch_add(1)) < cases.size();) {
      running_case[id] = case_names[i].c_str();
      reasons[i] = run_case(cases[i], *options, args);
      running_case[id] = nullptr;
    }
  };
  std::vector<std::thread> workers;
  int jobs = args.jobs > 0 ? args.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jobs = std::min(jobs, kMaxWorkers);
  for (int j = 1; j < jobs; ++j) workers.emplace_back(worker, j);
  worker(0);
  for (auto& w : workers) w.join();

  // Counts per suite: the folder that holds the case folder (node, light, ...).
  std::map<std::string, std::pair<int, int>> suites;
  std::map<std::string, bool> outcome;  // label -> passed
  int passed = 0, failed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path& dir = cases[i];
    std::string suite = dir.parent_path().filename().string();
    std::string& reason = reasons[i];
    std::string label = suite + "/" + dir.filename().string();
    outcome[label] = reason.empty();
    if (reason.empty()) {
      ++passed;
      ++suites[suite].first;
      if (args.verbose) std::cout << "ok   " << label << "\n";
    } else {
      ++failed;
      ++suites[suite].second;
      std::replace(reason.begin(), reason.end(), '\n', ' ');
      std::cout << (expected.count(label) ? "XFAIL " : "FAIL ") << label << ": " << reason << "\n";
    }
    std::cout.flush();
  }
  for (const auto& [suite, counts] : suites)
    std::cout << "suite " << suite << ": " << counts.first << " of " << counts.first + counts.second << " passed\n";
  if (!args.expected_failures.empty()) {
    int problems = check_expected_failures(expected, outcome);
    if (problems == 0) std::cout << "every failure is one of the " << expected.size() << " expected\n";
    std::cout << passed << " passed, " << failed << " failed\n";
    return problems == 0 ? 0 : 1;
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  if (args.min_passed >= 0) {
    if (passed < args.min_passed) {
      std::cerr << "error: " << passed << " cases passed, fewer than the required " << args.min_passed << "\n";
      return 1;
    }
    return 0;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace tessera::cli
