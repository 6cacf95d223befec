// Tree ensembles of ai.onnx.ml: TreeEnsemble (opset 5) and the older TreeEnsembleRegressor /
// TreeEnsembleClassifier (opsets 1-4). All three compile their attributes into one flat node
// array at session creation; a row walks each tree to a leaf and the leaf weights are then
// aggregated and finalized as ONNX Runtime does (base values, one-target shortcuts, the
// binary-classifier conventions), so scores and labels match it.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "providers/cpu/families.h"
#include "providers/cpu/math/widen.h"
#include "providers/cpu/ml/ml_common.h"

namespace tessera {
namespace {

using ml::PostTransform;

enum class Mode : uint8_t { leq, lt, gte, gt, eq, neq, member, leaf };
enum class Aggregate { average, sum, min, max };

struct Ensemble {
  // Per node.
  std::vector<int32_t> feature;
  std::vector<Mode> mode;
  std::vector<uint8_t> missing_true;
  std::vector<float> thr_f;
  std::vector<double> thr_d;
  std::vector<int32_t> next_true, next_false;  // node indices
  std::vector<int32_t> first, count;           // leaves: weight range; member nodes: set range
  // Leaf weights.
  std::vector<int64_t> w_target;
  std::vector<float> w_f;
  std::vector<double> w_d;
  // Members of BRANCH_MEMBER sets.
  std::vector<float> set_f;
  std::vector<double> set_d;
  std::vector<int32_t> roots;
  int64_t max_feature = -1;

  int32_t add_node(int32_t feat, Mode m, bool missing, double thr) {
    feature.push_back(feat);
    mode.push_back(m);
    missing_true.push_back(missing ? 1 : 0);
    thr_f.push_back(static_cast<float>(thr));
    thr_d.push_back(thr);
    next_true.push_back(-1);
    next_false.push_back(-1);
    first.push_back(0);
    count.push_back(0);
    if (m != Mode::leaf) max_feature = std::max<int64_t>(max_feature, feat);
    return static_cast<int32_t>(feature.size() - 1);
  }

  template <class TT>
  const TT* thresholds() const {
    if constexpr (std::is_same_v<TT, double>) return thr_d.data();
    else return thr_f.data();
  }
  template <class TT>
  const TT* weights() const {
    if constexpr (std::is_same_v<TT, double>) return w_d.data();
    else return w_f.data();
  }
  template <class TT>
  const TT* members() const {
    if constexpr (std::is_same_v<TT, double>) return set_d.data();
    else return set_f.data();
  }

  // The leaf that row x reaches from `node`.
  template <class TT>
  int32_t leaf_of(const TT* x, int32_t node) const {
    const TT* thr = thresholds<TT>();
    while (mode[node] != Mode::leaf) {
      const TT v = x[feature[node]];
      const TT t = thr[node];
      bool r;
      switch (mode[node]) {
        case Mode::leq: r = v <= t; break;
        case Mode::lt: r = v < t; break;
        case Mode::gte: r = v >= t; break;
        case Mode::gt: r = v > t; break;
        case Mode::eq: r = v == t; break;
        case Mode::neq: r = v != t; break;
        case Mode::member: {
          const TT* s = members<TT>() + first[node];
          r = std::find(s, s + count[node], v) != s + count[node];
          break;
        }
        default: r = false; break;
      }
      if (!r && missing_true[node] && std::isnan(v)) r = true;
      node = r ? next_true[node] : next_false[node];
    }
    return node;
  }
};

template <class TT>
struct Score {
  TT score = 0;
  bool has = false;
};

// What differs between the three ops after the trees are walked.
struct Finalizer {
  bool classifier = false;
  int64_t n_targets = 1;  // classes for a classifier
  Aggregate aggregate = Aggregate::sum;
  PostTransform post = PostTransform::none;
  std::vector<double> base_values;
  // Classifier only.
  std::vector<int64_t> class_labels;  // int labels, or indices of string labels
  std::vector<std::string> string_labels;
  bool binary_case = false;
  bool weights_all_positive = true;
};

class TreeEnsembleKernel final : public OpKernel {
 public:
  TreeEnsembleKernel(Ensemble e, Finalizer f, bool output_like_input)
      : e_(std::move(e)), f_(std::move(f)), output_like_input_(output_like_input) {}

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() == 0 || x->rank() > 2) return ctx.error("X must be 1-D or 2-D, got ", shape_to_string(x->shape()));
    const int64_t N = x->rank() == 1 ? 1 : x->dim(0);
    const int64_t C = x->rank() == 1 ? x->dim(0) : x->dim(1);
    if (e_.max_feature >= C) return ctx.error("a tree reads feature ", e_.max_feature, " but X has ", C, " features");
    if (x->dtype() == DataType::float64) return run<double>(ctx, *x, N, C);
    return run<float>(ctx, *x, N, C);
  }

 private:
  template <class TT>
  Status run(KernelContext& ctx, const Tensor& x, int64_t N, int64_t C) const {
    const int64_t K = f_.n_targets;
    std::vector<TT> xs(static_cast<size_t>(N * C));
    TS_RETURN_IF_ERROR(widen::widen_tensor(x, xs.data(), ctx.node()));
    std::vector<TT> z(static_cast<size_t>(N * K));
    std::vector<int64_t> labels(f_.classifier ? static_cast<size_t>(N) : 0);
    ctx.thread_pool().parallel_for(N, std::max<int64_t>(1, 256 / std::max<size_t>(1, e_.roots.size())), [&](int64_t r0, int64_t r1) {
      std::vector<Score<TT>> scores(static_cast<size_t>(K));
      for (int64_t r = r0; r < r1; ++r) {
        std::fill(scores.begin(), scores.end(), Score<TT>{});
        accumulate(xs.data() + r * C, scores);
        if (f_.classifier) labels[r] = finalize_classifier(scores, z.data() + r * K);
        else finalize_regressor(scores, z.data() + r * K);
      }
    });
    if (f_.classifier) {
      if (!f_.string_labels.empty()) {
        Tensor& y = ctx.allocate_output(0, DataType::string, {N});
        for (int64_t r = 0; r < N; ++r) y.data<std::string>()[r] = f_.string_labels[static_cast<size_t>(labels[r])];
      } else {
        Tensor& y = ctx.allocate_output(0, DataType::int64, {N});
        std::copy(labels.begin(), labels.end(), y.data<int64_t>());
      }
      Tensor& scores = ctx.allocate_output(1, DataType::float32, {N, K});
      narrow_span(z.data(), scores.data<float>(), N * K);
      return Status::ok();
    }
    const DataType out_type = output_like_input_ ? x.dtype() : DataType::float32;
    Tensor& y = ctx.allocate_output(0, out_type, {N, K});
    return dispatch<kFloatTypes>(
        out_type,
        [&]<class T>() -> Status {
          narrow_span(z.data(), y.data<T>(), N * K);
          return Status::ok();
        },
        ctx.node());
  }

  // Walks every tree; with one target each leaf gives its first weight (ONNX Runtime's shortcut).
  template <class TT>
  void accumulate(const TT* x, std::vector<Score<TT>>& scores) const {
    const TT* w = e_.weights<TT>();
    const bool one = f_.n_targets == 1;
    const Aggregate agg = f_.classifier ? Aggregate::sum : f_.aggregate;
    for (int32_t root : e_.roots) {
      const int32_t leaf = e_.leaf_of(x, root);
      const int32_t b = e_.first[leaf], n = one ? std::min<int32_t>(1, e_.count[leaf]) : e_.count[leaf];
      for (int32_t k = b; k < b + n; ++k) {
        Score<TT>& s = scores[one ? 0 : static_cast<size_t>(e_.w_target[k])];
        const TT v = w[k];
        if (agg == Aggregate::min) s.score = (!s.has || v < s.score) ? v : s.score;
        else if (agg == Aggregate::max) s.score = (!s.has || v > s.score) ? v : s.score;
        else s.score += v;
        s.has = true;
      }
    }
  }

  template <class TT>
  void finalize_regressor(std::vector<Score<TT>>& scores, TT* z) const {
    const int64_t K = f_.n_targets;
    const TT trees = static_cast<TT>(e_.roots.size());
    if (K == 1) {
      const TT origin = f_.base_values.size() == 1 ? static_cast<TT>(f_.base_values[0]) : TT(0);
      TT v = scores[0].score;
      if (f_.aggregate == Aggregate::average) v = v / trees + origin;
      else if (f_.aggregate == Aggregate::sum) v += origin;
      else v = scores[0].has ? v + origin : origin;
      z[0] = f_.post == PostTransform::probit ? static_cast<TT>(ml::probit(static_cast<float>(v))) : v;
      return;
    }
    // A target no leaf voted for stays 0, base value or not (as ONNX Runtime).
    const bool use_base = static_cast<int64_t>(f_.base_values.size()) == K;
    for (int64_t j = 0; j < K; ++j) {
      const TT base = use_base ? static_cast<TT>(f_.base_values[j]) : TT(0);
      const TT s = scores[j].score;
      z[j] = !scores[j].has ? TT(0) : f_.aggregate == Aggregate::average ? s / trees + base : s + base;
    }
    ml::transform_row(f_.post, z, K);
  }

  // Returns the label index (into class_labels) / label value; writes the K scores.
  template <class TT>
  int64_t finalize_classifier(std::vector<Score<TT>>& p, TT* z) const {
    const int64_t K = f_.n_targets;
    const std::vector<double>& base = f_.base_values;
    if (K > 2) {
      for (size_t k = 0; k < base.size() && k < p.size(); ++k) {
        p[k].score = p[k].has ? p[k].score + static_cast<TT>(base[k]) : static_cast<TT>(base[k]);
        p[k].has = true;
      }
      int64_t best = -1;
      for (int64_t k = 0; k < K; ++k)
        if (p[k].has && (best < 0 || p[k].score > p[best].score)) best = k;
      for (int64_t k = 0; k < K; ++k) z[k] = p[k].has ? p[k].score : TT(0);
      ml::transform_row(f_.post, z, K);
      return f_.class_labels[static_cast<size_t>(std::max<int64_t>(best, 0))];
    }
    int second_class = -1;
    size_t used = 2;
    if (base.size() == 2) {
      if (p[1].has) {
        // Only base_values[1] counts here (ONNX Runtime assumes both are equal).
        p[1].score = static_cast<TT>(base[1]) + p[0].score;
        p[0].score = -p[1].score;
      } else {
        p[1].score += static_cast<TT>(base[1]);
        p[0].score += static_cast<TT>(base[0]);
      }
    } else if (base.size() == 1) {
      p[0].score += static_cast<TT>(base[0]);
      if (!p[1].has) used = 1;
    } else if (base.empty()) {
      second_class = 3;
      if (!p[1].has) used = 1;
    }
    const TT pos = used == 2 && p[1].has ? p[1].score : (p[0].has ? p[0].score : TT(0));
    int64_t label;
    if (f_.binary_case) {
      const bool positive = f_.weights_all_positive ? pos > TT(0.5) : pos > TT(0);
      second_class = f_.weights_all_positive ? (positive ? 0 : 1) : (positive ? 2 : 3);
      label = f_.class_labels[positive ? 1 : 0];
    } else {
      label = pos > TT(0) ? 1 : 0;
    }
    if (used == 2) {
      z[0] = p[0].has ? p[0].score : TT(0);
      z[1] = p[1].has ? p[1].score : TT(0);
      ml::transform_row(f_.post, z, 2);
    } else {
      ml::write_one_score(f_.post, p[0].has ? static_cast<float>(p[0].score) : 0.0f, second_class, z);
    }
    return label;
  }

  Ensemble e_;
  Finalizer f_;
  bool output_like_input_;
};

// ---------------------------------------------------------------- attribute parsing

bool parse_mode_string(const std::string& s, Mode* m) {
  static const std::pair<const char*, Mode> kModes[] = {
      {"BRANCH_LEQ", Mode::leq}, {"BRANCH_LT", Mode::lt}, {"BRANCH_GTE", Mode::gte}, {"BRANCH_GT", Mode::gt},
      {"BRANCH_EQ", Mode::eq},   {"BRANCH_NEQ", Mode::neq}, {"LEAF", Mode::leaf}};
  for (const auto& [name, mode] : kModes)
    if (s == name) {
      *m = mode;
      return true;
    }
  return false;
}

// Fails when a walk from some root could loop forever (a cycle among interior nodes).
Status check_acyclic(const KernelInfo& info, const Ensemble& e) {
  const size_t n = e.mode.size();
  std::vector<uint8_t> state(n, 0);  // 0 unseen, 1 on the current path, 2 done
  std::vector<std::pair<int32_t, int>> stack;
  for (int32_t root : e.roots) {
    if (state[root] == 2) continue;
    stack.assign(1, {root, 0});
    state[root] = 1;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (e.mode[node] == Mode::leaf || next == 2) {
        state[node] = 2;
        stack.pop_back();
        continue;
      }
      const int32_t c = next++ == 0 ? e.next_true[node] : e.next_false[node];
      if (state[c] == 1) return info.error("the trees contain a cycle through node ", c);
      if (state[c] == 0) {
        state[c] = 1;
        stack.push_back({c, 0});
      }
    }
  }
  return Status::ok();
}

// The v1/v3 layout: nodes keyed by (tree id, node id), votes keyed the same way.
Result<Ensemble> build_v3(const KernelInfo& info, const std::string& prefix, int64_t n_targets) {
  const std::vector<int64_t> tree_ids = info.attr_ints("nodes_treeids"), node_ids = info.attr_ints("nodes_nodeids");
  const std::vector<int64_t> features = info.attr_ints("nodes_featureids");
  const std::vector<int64_t> true_ids = info.attr_ints("nodes_truenodeids"), false_ids = info.attr_ints("nodes_falsenodeids");
  const std::vector<int64_t> missing = info.attr_ints("nodes_missing_value_tracks_true");
  const std::vector<std::string> modes = info.attr_strings("nodes_modes");
  const std::vector<double> values = ml::floats_or_tensor(info, "nodes_values");
  const size_t n = tree_ids.size();
  if (node_ids.size() != n || features.size() != n || true_ids.size() != n || false_ids.size() != n || modes.size() != n)
    return info.error("the nodes_* attributes must all have the same length");
  if (!values.empty() && values.size() != n) return info.error("nodes_values must have one value per node");
  const std::vector<int64_t> t_ids = info.attr_ints(prefix + "_ids"), t_nodes = info.attr_ints(prefix + "_nodeids");
  const std::vector<int64_t> t_trees = info.attr_ints(prefix + "_treeids");
  const std::vector<double> t_weights = ml::floats_or_tensor(info, prefix + "_weights");
  if (t_nodes.size() != t_ids.size() || t_trees.size() != t_ids.size() || t_weights.size() != t_ids.size())
    return info.error("the ", prefix, "_* attributes must all have the same length");

  Ensemble e;
  std::map<std::pair<int64_t, int64_t>, int32_t> index;
  for (size_t i = 0; i < n; ++i) {
    Mode m;
    if (!parse_mode_string(modes[i], &m)) return info.error("unknown node mode '", modes[i], "'");
    e.add_node(static_cast<int32_t>(features[i]), m, i < missing.size() && missing[i] == 1, values.empty() ? 0.0 : values[i]);
    if (m != Mode::leaf && features[i] < 0) return info.error("negative feature id at node ", i);
    if (!index.emplace(std::make_pair(tree_ids[i], node_ids[i]), static_cast<int32_t>(i)).second)
      return info.error("node ", node_ids[i], " appears twice in tree ", tree_ids[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (e.mode[i] == Mode::leaf) continue;
    for (int side = 0; side < 2; ++side) {
      const int64_t id = side == 0 ? true_ids[i] : false_ids[i];
      auto it = index.find({tree_ids[i], id});
      if (it == index.end()) return info.error("node ", node_ids[i], " of tree ", tree_ids[i], " points to missing node ", id);
      if (it->second == static_cast<int32_t>(i)) return info.error("node ", node_ids[i], " of tree ", tree_ids[i], " points to itself");
      (side == 0 ? e.next_true : e.next_false)[i] = it->second;
    }
  }
  // Votes grouped per leaf, in attribute order; votes on interior nodes are ignored.
  std::vector<std::vector<size_t>> votes(n);
  for (size_t k = 0; k < t_ids.size(); ++k) {
    auto it = index.find({t_trees[k], t_nodes[k]});
    if (it == index.end()) return info.error(prefix, " vote ", k, " names missing node ", t_nodes[k], " of tree ", t_trees[k]);
    if (t_ids[k] < 0 || t_ids[k] >= n_targets) return info.error(prefix, "_ids[", k, "] = ", t_ids[k], " is out of range");
    if (e.mode[static_cast<size_t>(it->second)] == Mode::leaf) votes[static_cast<size_t>(it->second)].push_back(k);
  }
  for (size_t i = 0; i < n; ++i) {
    if (e.mode[i] != Mode::leaf) continue;
    if (votes[i].empty()) return info.error("leaf ", node_ids[i], " of tree ", tree_ids[i], " has no ", prefix, " weight");
    e.first[i] = static_cast<int32_t>(e.w_target.size());
    e.count[i] = static_cast<int32_t>(votes[i].size());
    for (size_t k : votes[i]) {
      e.w_target.push_back(t_ids[k]);
      e.w_d.push_back(t_weights[k]);
      e.w_f.push_back(static_cast<float>(t_weights[k]));
    }
  }
  // A new tree starts wherever the tree id changes.
  for (size_t i = 0; i < n; ++i)
    if (i == 0 || tree_ids[i] != tree_ids[i - 1]) e.roots.push_back(static_cast<int32_t>(i));
  TS_RETURN_IF_ERROR(check_acyclic(info, e));
  return e;
}

Result<std::unique_ptr<OpKernel>> make_regressor(const KernelInfo& info) {
  Finalizer f;
  f.n_targets = info.attr_int("n_targets", 1);
  if (f.n_targets <= 0) return info.error("n_targets must be positive");
  const std::string agg = info.attr_string("aggregate_function", "SUM");
  if (agg == "SUM") f.aggregate = Aggregate::sum;
  else if (agg == "AVERAGE") f.aggregate = Aggregate::average;
  else if (agg == "MIN") f.aggregate = Aggregate::min;
  else if (agg == "MAX") f.aggregate = Aggregate::max;
  else return info.error("unknown aggregate_function '", agg, "'");
  if (!ml::parse_post_transform(info.attr_string("post_transform", "NONE"), &f.post))
    return info.error("unknown post_transform '", info.attr_string("post_transform", "NONE"), "'");
  f.base_values = ml::floats_or_tensor(info, "base_values");
  TS_ASSIGN_OR_RETURN(Ensemble e, build_v3(info, "target", f.n_targets));
  return std::unique_ptr<OpKernel>(new TreeEnsembleKernel(std::move(e), std::move(f), false));
}

Result<std::unique_ptr<OpKernel>> make_classifier(const KernelInfo& info) {
  Finalizer f;
  f.classifier = true;
  f.string_labels = info.attr_strings("classlabels_strings");
  if (!f.string_labels.empty()) {
    for (size_t i = 0; i < f.string_labels.size(); ++i) f.class_labels.push_back(static_cast<int64_t>(i));
  } else {
    f.class_labels = info.attr_ints("classlabels_int64s");
  }
  f.n_targets = static_cast<int64_t>(f.class_labels.size());
  if (f.n_targets < 2) return info.error("TreeEnsembleClassifier needs at least two class labels");
  if (!ml::parse_post_transform(info.attr_string("post_transform", "NONE"), &f.post))
    return info.error("unknown post_transform '", info.attr_string("post_transform", "NONE"), "'");
  f.base_values = ml::floats_or_tensor(info, "base_values");
  TS_ASSIGN_OR_RETURN(Ensemble e, build_v3(info, "class", f.n_targets));
  std::vector<int64_t> classes = info.attr_ints("class_ids");
  std::sort(classes.begin(), classes.end());
  f.binary_case = f.n_targets == 2 && std::unique(classes.begin(), classes.end()) - classes.begin() == 1;
  for (double w : ml::floats_or_tensor(info, "class_weights"))
    if (w < 0) f.weights_all_positive = false;
  return std::unique_ptr<OpKernel>(new TreeEnsembleKernel(std::move(e), std::move(f), false));
}

// TreeEnsemble (ai.onnx.ml 5): interior nodes and leaves in separate lists; leaves go after
// the interior nodes in the flat array.
Result<std::unique_ptr<OpKernel>> make_v5(const KernelInfo& info) {
  Finalizer f;
  TS_ASSIGN_OR_RETURN(f.n_targets, info.required_int("n_targets"));
  if (f.n_targets <= 0) return info.error("n_targets must be positive");
  const int64_t agg = info.attr_int("aggregate_function", 1);
  if (agg < 0 || agg > 3) return info.error("aggregate_function must be in [0, 3], got ", agg);
  f.aggregate = static_cast<Aggregate>(agg);
  const int64_t post = info.attr_int("post_transform", 0);
  if (post < 0 || post > 4) return info.error("post_transform must be in [0, 4], got ", post);
  static const PostTransform kPost[] = {PostTransform::none, PostTransform::softmax, PostTransform::logistic,
                                        PostTransform::softmax_zero, PostTransform::probit};
  f.post = kPost[post];

  const std::vector<int64_t> features = info.attr_ints("nodes_featureids");
  const std::vector<int64_t> true_ids = info.attr_ints("nodes_truenodeids"), false_ids = info.attr_ints("nodes_falsenodeids");
  const std::vector<int64_t> true_leafs = info.attr_ints("nodes_trueleafs"), false_leafs = info.attr_ints("nodes_falseleafs");
  const std::vector<int64_t> missing = info.attr_ints("nodes_missing_value_tracks_true");
  const std::vector<int64_t> leaf_targets = info.attr_ints("leaf_targetids"), roots = info.attr_ints("tree_roots");
  std::vector<double> splits, leaf_weights, members;
  const Tensor* t_splits = info.attr_tensor("nodes_splits");
  const Tensor* t_weights = info.attr_tensor("leaf_weights");
  const Tensor* t_modes = info.attr_tensor("nodes_modes");
  if (!t_splits || !t_weights || !t_modes) return info.error("nodes_splits, leaf_weights and nodes_modes are required");
  if (!ml::tensor_as_doubles(*t_splits, &splits) || !ml::tensor_as_doubles(*t_weights, &leaf_weights))
    return info.error("nodes_splits and leaf_weights must be float or double tensors");
  if (const Tensor* t = info.attr_tensor("membership_values"); t && !ml::tensor_as_doubles(*t, &members))
    return info.error("membership_values must be a float or double tensor");
  std::vector<int64_t> modes;
  for (int64_t i = 0; i < t_modes->size(); ++i) {
    if (t_modes->dtype() == DataType::uint8) modes.push_back(t_modes->data<uint8_t>()[i]);
    else if (t_modes->dtype() == DataType::int32) modes.push_back(t_modes->data<int32_t>()[i]);
    else if (t_modes->dtype() == DataType::int64) modes.push_back(t_modes->data<int64_t>()[i]);
    else return info.error("nodes_modes must be a uint8 tensor");
  }
  const size_t n = features.size(), leaves = leaf_targets.size();
  if (true_ids.size() != n || false_ids.size() != n || true_leafs.size() != n || false_leafs.size() != n ||
      modes.size() != n || splits.size() != n)
    return info.error("the nodes_* attributes must all have the same length");
  if (leaf_weights.size() != leaves) return info.error("leaf_targetids and leaf_weights must have the same length");

  Ensemble e;
  size_t next_member = 0;
  for (size_t i = 0; i < n; ++i) {
    if (modes[i] < 0 || modes[i] > 6) return info.error("nodes_modes[", i, "] = ", modes[i], " is not a valid mode");
    if (features[i] < 0) return info.error("negative feature id at node ", i);
    const int32_t id = e.add_node(static_cast<int32_t>(features[i]), static_cast<Mode>(modes[i]),
                                  i < missing.size() && missing[i] == 1, splits[i]);
    if (e.mode[id] == Mode::member) {
      // This node's set: the members up to the next NaN.
      e.first[id] = static_cast<int32_t>(e.set_d.size());
      while (next_member < members.size() && !std::isnan(members[next_member])) {
        e.set_d.push_back(members[next_member]);
        e.set_f.push_back(static_cast<float>(members[next_member]));
        ++next_member;
      }
      if (next_member >= members.size()) return info.error("membership_values has too few sets for the BRANCH_MEMBER nodes");
      ++next_member;
      e.count[id] = static_cast<int32_t>(e.set_d.size()) - e.first[id];
    }
  }
  for (size_t j = 0; j < leaves; ++j) {
    if (leaf_targets[j] < 0 || leaf_targets[j] >= f.n_targets) return info.error("leaf_targetids[", j, "] is out of range");
    const int32_t id = e.add_node(0, Mode::leaf, false, 0);
    e.first[id] = static_cast<int32_t>(j);
    e.count[id] = 1;
    e.w_target.push_back(leaf_targets[j]);
    e.w_d.push_back(leaf_weights[j]);
    e.w_f.push_back(static_cast<float>(leaf_weights[j]));
  }
  auto child = [&](size_t i, bool to_leaf, int64_t id, int32_t* out) -> Status {
    if (id < 0 || id >= static_cast<int64_t>(to_leaf ? leaves : n)) return info.error("node ", i, " points outside the tree");
    *out = static_cast<int32_t>(to_leaf ? static_cast<int64_t>(n) + id : id);
    return Status::ok();
  };
  for (size_t i = 0; i < n; ++i) {
    TS_RETURN_IF_ERROR(child(i, true_leafs[i] != 0, true_ids[i], &e.next_true[i]));
    TS_RETURN_IF_ERROR(child(i, false_leafs[i] != 0, false_ids[i], &e.next_false[i]));
  }
  for (int64_t r : roots) {
    if (r < 0 || r >= static_cast<int64_t>(n)) return info.error("tree root ", r, " is out of range");
    // A one-leaf tree is a node whose both branches name the same leaf.
    if (true_leafs[r] && false_leafs[r] && true_ids[r] == false_ids[r]) e.roots.push_back(e.next_true[r]);
    else e.roots.push_back(static_cast<int32_t>(r));
  }
  TS_RETURN_IF_ERROR(check_acyclic(info, e));
  return std::unique_ptr<OpKernel>(new TreeEnsembleKernel(std::move(e), std::move(f), true));
}

}  // namespace

void register_ml_tree_ensemble(KernelRegistry& r) {
  r.add({ml::kDomain, "TreeEnsembleRegressor", 1, 4, make_regressor});
  r.add({ml::kDomain, "TreeEnsembleClassifier", 1, 4, make_classifier});
  r.add({ml::kDomain, "TreeEnsemble", 5, kLatestOnnxMlOpset, make_v5});
}

}  // namespace tessera
