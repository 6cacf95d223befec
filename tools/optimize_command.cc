// `tessera optimize MODEL -o OUT.onnx [--opt-level L] [--verbose]`: creates a session at level L,
// which saves the graph it runs (functions inlined, optimized) to OUT.onnx.
#include <iostream>
#include <set>

#include "model/model_loader.h"
#include "tessera/session.h"
#include "tools/cli_errors.h"
#include "tools/commands.h"
#include "tools/session_flags.h"

namespace tessera::cli {

namespace {

// Node counts per op of the model as loaded and of the graph saved, every op either has.
void print_counts(const NodeCounts& before, const NodeCounts& after) {
  std::cout << "nodes: " << before.nodes << " -> " << after.nodes << "\n";
  std::set<std::string> ops;
  for (const auto& [op, count] : before.by_op) ops.insert(op);
  for (const auto& [op, count] : after.by_op) ops.insert(op);
  auto count_of = [](const NodeCounts& counts, const std::string& op) {
    auto it = counts.by_op.find(op);
    return it == counts.by_op.end() ? size_t{0} : it->second;
  };
  for (const std::string& op : ops) std::cout << "  " << op << ": " << count_of(before, op) << " -> " << count_of(after, op) << "\n";
}

}  // namespace

int optimize_command(const OptimizeArgs& args) {
  auto fail = [&](const Status& s, int code = kExitError) { return report_error(s, args.model, code); };
  auto options = session_options(1, args.opt_level, args.log_level);
  if (!options.is_ok()) return report_error(options.status(), "", kExitUsage);
  options->optimized_model_path = args.output;
  options->warm_up = false;  // saved, never run
  NodeCounts before;
  if (args.verbose) {
    auto model = load_model_file(args.model);
    if (!model.is_ok()) return fail(model.status());
    before = NodeCounts{model->graph.nodes.size(), count_ops(model->graph)};
  }
  auto session = Session::load(args.model, *options);
  if (!session.is_ok()) return fail(session.status());
  const NodeCounts after = session->node_counts();
  std::cout << "saved " << args.output << " (opt-level " << optimization_level_name(options->optimization_level) << ", "
            << after.nodes << " nodes)\n";
  if (args.verbose) {
    print_counts(before, after);
    std::cout << "passes (rewrites):\n";
    for (const OptimizationPass& pass : session->optimization_report())
      std::cout << "  " << pass.name << ": " << pass.rewrites << "\n";
  }
  return 0;
}

}  // namespace tessera::cli
