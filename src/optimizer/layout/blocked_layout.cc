// The `all` level's CPU layout: chains of 2-D float32 convolutions run in the channel-blocked
// layout [N, ceil(C / block), H, W, block] (docs/fused_ops.md), so no layout change happens
// between them; only the chain's ends convert.
//   y = FusedConv(x, w, b, z)   ->   xb = ReorderToBlocked(x); yb = BlockedConv(xb, w, b, zb)
//   p = MaxPool(y)              ->   pb = BlockedPool(yb) {pool: "MaxPool"}
//   r = Relu(p)                 ->   p = ReorderFromBlocked(pb); r = Relu(p)
// Conv and FusedConv with constant weights of one group or depthwise become BlockedConv; a pool
// (MaxPool without Indices, AveragePool, GlobalAveragePool, GlobalMaxPool) whose input is already
// blocked becomes BlockedPool, and a Mul or Add of blocked images stays itself, on blocked
// operands. A value a node outside the chain reads (or a graph output) is
// converted back once, before its first such reader. An image of fewer channels than a block
// (the RGB stem) is read as NCHW by its convolution. The block is the CPU EP's (16 floats with
// AVX-512, 8 with AVX2); the pass does nothing when the EP has none, in subgraph bodies, and in
// graphs with fewer than two such convolutions (one convolution would pay both conversions).
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "optimizer/graph_edit.h"
#include "optimizer/optimizer.h"
#include "optimizer/transformers.h"

namespace tessera {
namespace {

// Fewest convolutions that make a chain worth converting.
constexpr int kMinConvolutions = 2;

int64_t int_attribute(const Node& node, const char* name, int64_t fallback) {
  const Attribute* a = node.attribute(name);
  return a && a->type == Attribute::Type::int_ ? a->i : fallback;
}

// The dims of a float32 [N, C, H, W] value whose C is known, or nullopt.
std::optional<std::vector<Dim>> float_image(const Graph& graph, const GraphIndex& index, const std::string& value) {
  std::optional<TypeInfo> t = known_type(graph, index, value);
  if (!t || t->kind != TypeInfo::Kind::tensor || t->elem_type != DataType::float32 || !t->shape ||
      t->shape->size() != 4 || !(*t->shape)[1].is_fixed())
    return std::nullopt;
  return *t->shape;
}

bool is_one(const Dim& d) { return d.is_fixed() && d.value == 1; }


struct ConvChannels {
  int64_t in = 0, out = 0;
};

// The input and output channels of a convolution the blocked layout runs, or nullopt.
std::optional<ConvChannels> blocked_conv_channels(const Node& node, const Graph& graph, const GraphIndex& index) {
  const bool conv = node.op_type == "Conv" && node.domain.empty();
  const bool fused = node.op_type == "FusedConv" && node.domain == kTesseraDomain;
  if ((!conv && !fused) || node.inputs.size() < 2 || node.outputs.size() != 1) return std::nullopt;
  std::optional<std::vector<Dim>> x = float_image(graph, index, node.inputs[0]);
  const Tensor* w = constant_value(graph, index, node.inputs[1]);
  if (!x || !w || w->dtype() != DataType::float32 || w->rank() != 4 || w->size() == 0) return std::nullopt;
  // A 1x1 kernel over a 1x1 image (squeeze-and-excitation) is a matrix-vector product, which
  // Tessera's own GEMV runs 2x faster than oneDNN's convolution.
  if (w->dim(2) == 1 && w->dim(3) == 1 && is_one((*x)[2]) && is_one((*x)[3])) return std::nullopt;
  const int64_t C = (*x)[1].value, group = int_attribute(node, "group", 1);
  const bool depthwise = group > 1 && group == C && w->dim(0) == C && w->dim(1) == 1;
  if (!(group == 1 && w->dim(1) == C) && !depthwise) return std::nullopt;
  // oneDNN has no HardSigmoid post-op: such a convolution would run between conversions.
  const Attribute* act = node.attribute("activation");
  if (act && act->s == "HardSigmoid") return std::nullopt;
  return ConvChannels{C, w->dim(0)};
}

bool is_blocked_pool(const Node& node, const Graph& graph, const GraphIndex& index) {
  if (!node.domain.empty() || node.inputs.size() != 1 || node.outputs.size() != 1) return false;
  const std::string& op = node.op_type;
  if (op == "MaxPool" || op == "AveragePool") {
    const Attribute* k = node.attribute("kernel_shape");
    if (!k || k->ints.size() != 2) return false;
  } else if (op != "GlobalAveragePool" && op != "GlobalMaxPool") {
    return false;
  }
  return float_image(graph, index, node.inputs[0]).has_value();
}

// Mul or Add of two images of the same channels, one of them possibly 1x1 (squeeze-and-
// excitation's scale): lane by lane in the blocked layout too, as ordinary broadcasting over
// [N, C/block, H, W, block]. The zeros past C stay zeros. Returns the channels, or nullopt.
std::optional<int64_t> blocked_binary_channels(const Node& node, const Graph& graph, const GraphIndex& index) {
  if (!node.domain.empty() || (node.op_type != "Mul" && node.op_type != "Add") || node.inputs.size() != 2 ||
      node.outputs.size() != 1)
    return std::nullopt;
  std::optional<std::vector<Dim>> a = float_image(graph, index, node.inputs[0]);
  std::optional<std::vector<Dim>> b = float_image(graph, index, node.inputs[1]);
  if (!a || !b || (*a)[1].value != (*b)[1].value || !same_dim((*a)[0], (*b)[0])) return std::nullopt;
  auto spatial_equal = [](const std::vector<Dim>& p, const std::vector<Dim>& q) {
    return same_dim(p[2], q[2]) && same_dim(p[3], q[3]);
  };
  auto unit = [](const std::vector<Dim>& p) { return is_one(p[2]) && is_one(p[3]); };
  if (!spatial_equal(*a, *b) && !unit(*a) && !unit(*b)) return std::nullopt;
  return (*a)[1].value;
}

class BlockedLayout final : public GraphTransformer {
 public:
  explicit BlockedLayout(int64_t block) : block_(block) {}

  std::string_view name() const override { return "blocked_layout"; }

  Result<int> apply(Graph& graph, const TransformContext& ctx) const override {
    if (ctx.is_subgraph(graph) || !ctx.types_of(graph)) return 0;
    const GraphIndex index(graph, ctx);
    std::vector<std::optional<ConvChannels>> conv_channels(graph.nodes.size());
    int convs = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      conv_channels[i] = blocked_conv_channels(graph.nodes[i], graph, index);
      convs += conv_channels[i].has_value();
    }
    if (convs < kMinConvolutions) return 0;
    std::vector<std::vector<std::string>> implicit(graph.nodes.size());
    for (size_t i = 0; i < graph.nodes.size(); ++i) implicit[i] = node_implicit_inputs(graph.nodes[i]);
    TS_ASSIGN_OR_RETURN(std::vector<size_t> order, topological_order(graph, free_variables(graph), implicit));

    Rewrite rw{graph};
    int rewrites = 0;
    for (size_t i : order) {
      Node node = graph.nodes[i];
      if (conv_channels[i]) {
        rw.convert_conv(std::move(node), *conv_channels[i], block_);
        ++rewrites;
        continue;
      }
      if (is_blocked_pool(node, graph, index) && rw.blocked.count(node.inputs[0])) {
        rw.convert_pool(std::move(node));
        ++rewrites;
        continue;
      }
      if (std::optional<int64_t> c = blocked_binary_channels(node, graph, index);
          c && (rw.produced.count(node.inputs[0]) || rw.produced.count(node.inputs[1]))) {
        rw.convert_binary(std::move(node), *c, block_);
        ++rewrites;
        continue;
      }
      for (const std::string& in : node.inputs) rw.need_nchw(in);
      for (const std::string& in : implicit[i]) rw.need_nchw(in);
      rw.nodes.push_back(std::move(node));
    }
    for (const ValueInfo& out : graph.outputs) rw.need_nchw(out.name);
    graph.nodes = std::move(rw.nodes);
    return rewrites;
  }

 private:
  // The new node list, built in topological order.
  struct Rewrite {
    explicit Rewrite(const Graph& g) : graph(g) {}
    const Graph& graph;
    std::vector<Node> nodes;
    std::unordered_map<std::string, std::string> blocked;  // NCHW value -> its blocked form
    std::unordered_map<std::string, int64_t> channels;     // the same value -> its channels
    std::unordered_set<std::string> produced;              // values only a blocked node wrote
    std::unordered_set<std::string> nchw_written;          // such values already converted back
    std::unordered_set<std::string> taken;                 // names this pass made

    std::string fresh(const std::string& base) {
      std::string name = unique_value_name(graph, base);
      for (int k = 1; taken.count(name); ++k) name = unique_value_name(graph, base + "_" + std::to_string(k));
      taken.insert(name);
      return name;
    }

    // The blocked form of NCHW `value` of C channels, converting it once.
    std::string blocked_form(const std::string& value, int64_t C, int64_t block) {
      if (auto it = blocked.find(value); it != blocked.end()) return it->second;
      Node reorder;
      reorder.name = fresh(value + "_to_blocked");
      reorder.op_type = "ReorderToBlocked";
      reorder.domain = kTesseraDomain;
      reorder.inputs = {value};
      reorder.outputs = {fresh(value + "_blocked")};
      reorder.attributes["block"] = int_attr("block", block);
      blocked[value] = reorder.outputs[0];
      channels[value] = C;
      nodes.push_back(std::move(reorder));
      return blocked[value];
    }

    // A node outside the chain reads `value`: convert it back once, if a blocked node made it.
    void need_nchw(const std::string& value) {
      if (!produced.count(value) || nchw_written.count(value)) return;
      Node reorder;
      reorder.name = fresh(value + "_from_blocked");
      reorder.op_type = "ReorderFromBlocked";
      reorder.domain = kTesseraDomain;
      reorder.inputs = {blocked.at(value)};
      reorder.outputs = {value};
      reorder.attributes["channels"] = int_attr("channels", channels.at(value));
      nchw_written.insert(value);
      nodes.push_back(std::move(reorder));
    }

    // `node` now writes the blocked form of its output, under a new name.
    void write_blocked(Node& node, int64_t out_channels) {
      const std::string y = node.outputs[0];
      node.outputs[0] = fresh(y + "_blocked");
      blocked[y] = node.outputs[0];
      channels[y] = out_channels;
      produced.insert(y);
      nodes.push_back(std::move(node));
    }

    void convert_conv(Node node, ConvChannels c, int64_t block) {
      Node conv = std::move(node);
      const bool in_chain = blocked.count(conv.inputs[0]) > 0;
      const bool nchw_input = !in_chain && c.in < block && int_attribute(conv, "group", 1) == 1;
      if (!nchw_input) conv.inputs[0] = blocked_form(conv.inputs[0], c.in, block);
      if (conv.inputs.size() > 3 && !conv.inputs[3].empty())
        conv.inputs[3] = blocked_form(conv.inputs[3], c.out, block);
      conv.op_type = "BlockedConv";
      conv.domain = kTesseraDomain;
      conv.attributes["block"] = int_attr("block", block);
      if (nchw_input) conv.attributes["nchw_input"] = int_attr("nchw_input", 1);
      write_blocked(conv, c.out);
    }

    void convert_binary(Node node, int64_t C, int64_t block) {
      for (std::string& in : node.inputs) in = blocked_form(in, C, block);
      write_blocked(node, C);
    }

    void convert_pool(Node node) {
      const int64_t C = channels.at(node.inputs[0]);
      Node pool = std::move(node);
      pool.attributes.erase("storage_order");
      pool.attributes["pool"] = string_attr("pool", pool.op_type);
      pool.op_type = "BlockedPool";
      pool.domain = kTesseraDomain;
      pool.inputs[0] = blocked.at(pool.inputs[0]);
      write_blocked(pool, C);
    }
  };

  int64_t block_;
};

}  // namespace

std::unique_ptr<GraphTransformer> make_blocked_layout(int64_t block) { return std::make_unique<BlockedLayout>(block); }

}  // namespace tessera
