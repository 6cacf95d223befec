#!/usr/bin/env python3
"""End to end: scikit-learn classifiers exported by hand to ONNX (LinearClassifier -> ZipMap,
TreeEnsembleClassifier -> ZipMap), run by `tessera run`, and read back with onnx's Python.

The labels must equal sklearn's predict and the probability maps its predict_proba (1e-5).
Usage: zipmap_classifiers.py TESSERA_BINARY. Exits 77 (skipped) when sklearn or onnx is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.datasets import load_digits, load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier
except ImportError as e:
    print(f"SKIP: {e.name} is missing (install python3-sklearn python3-onnx python3-numpy)")
    sys.exit(77)

TOL = 1e-5


def label_attrs(classes, ints="classlabels_int64s"):
    """The class-label attribute; LinearClassifier names its int form classlabels_ints."""
    if classes.dtype.kind in "iu":
        return {ints: [int(c) for c in classes]}
    return {"classlabels_strings": [str(c) for c in classes]}


def probability_output(classes):
    t = onnx.TypeProto()
    m = t.sequence_type.elem_type.map_type
    m.key_type = TensorProto.INT64 if classes.dtype.kind in "iu" else TensorProto.STRING
    m.value_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    return helper.make_value_info("probabilities", t)


def make_model(name, classifier_node, classes, n_features):
    label_type = TensorProto.INT64 if classes.dtype.kind in "iu" else TensorProto.STRING
    zipmap = helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml", **label_attrs(classes))
    graph = helper.make_graph(
        [classifier_node, zipmap], name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("label", label_type, [None]), probability_output(classes)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def export_logistic_regression(clf):
    node = helper.make_node(
        "LinearClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml",
        coefficients=clf.coef_.astype(np.float32).ravel().tolist(),
        intercepts=clf.intercept_.astype(np.float32).tolist(),
        post_transform="SOFTMAX", multi_class=1, **label_attrs(clf.classes_, "classlabels_ints"))
    return make_model("logistic_regression", node, clf.classes_, clf.n_features_in_)


def float32_threshold(t):
    """The largest float32 <= t: for float32 x, x <= it exactly when x <= t (sklearn compares in
    float64, and rounding t to nearest could round up onto a feature value)."""
    f = np.float32(t)
    return float(f if f <= t else np.nextafter(f, np.float32(-np.inf)))


def tree_attributes(estimators, prefix, leaf_weights):
    """The nodes_* attributes of sklearn trees, and PREFIX_treeids/nodeids/ids/weights holding, for
    each leaf, the (id, weight) pairs leaf_weights(tree, node) gives, divided by the number of trees
    (a forest averages its trees)."""
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                         "nodes_truenodeids", "nodes_falsenodeids"]}
    a.update({f"{prefix}_{k}": [] for k in ["treeids", "nodeids", "ids", "weights"]})
    for t, est in enumerate(estimators):
        tree = est.tree_
        for n in range(tree.node_count):
            leaf = tree.children_left[n] == -1
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(n)
            a["nodes_featureids"].append(0 if leaf else int(tree.feature[n]))
            a["nodes_values"].append(0.0 if leaf else float32_threshold(tree.threshold[n]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_truenodeids"].append(0 if leaf else int(tree.children_left[n]))
            a["nodes_falsenodeids"].append(0 if leaf else int(tree.children_right[n]))
            if leaf:
                for i, w in leaf_weights(tree, n):
                    a[f"{prefix}_treeids"].append(t)
                    a[f"{prefix}_nodeids"].append(n)
                    a[f"{prefix}_ids"].append(i)
                    a[f"{prefix}_weights"].append(float(w) / len(estimators))
    return a


def export_trees(clf):
    """A tree or a forest: each leaf adds its class fractions, divided by the number of trees."""
    estimators = getattr(clf, "estimators_", [clf])
    a = tree_attributes(estimators, "class", lambda tree, n: enumerate(tree.value[n][0] / tree.value[n][0].sum()))
    node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml",
                            post_transform="NONE", **a, **label_attrs(clf.classes_))
    return make_model(type(clf).__name__, node, clf.classes_, clf.n_features_in_)


def run_tessera(tessera, model, x, work):
    os.makedirs(os.path.join(work, "data"))
    onnx.save(model, os.path.join(work, "model.onnx"))
    with open(os.path.join(work, "data", "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "X").SerializeToString())
    out = os.path.join(work, "out")
    subprocess.run([tessera, "run", os.path.join(work, "model.onnx"), "--data", os.path.join(work, "data"),
                    "--output-dir", out], check=True, stdout=subprocess.DEVNULL)
    label = onnx.TensorProto()
    with open(os.path.join(out, "output_0.pb"), "rb") as f:
        label.ParseFromString(f.read())
    probs = onnx.SequenceProto()
    with open(os.path.join(out, "output_1.pb"), "rb") as f:
        probs.ParseFromString(f.read())
    return numpy_helper.to_array(label), numpy_helper.to_list(probs)


def check(name, clf, model, x, tessera):
    with tempfile.TemporaryDirectory() as work:
        labels, maps = run_tessera(tessera, model, x, work)
    want_labels = clf.predict(x)
    want_proba = clf.predict_proba(x)
    assert len(labels) == len(x) and len(maps) == len(x), f"{name}: {len(labels)} labels, {len(maps)} maps for {len(x)} rows"
    keys = [k.encode() if isinstance(k, str) else int(k) for k in clf.classes_]
    worst = 0.0
    ties = 0
    for i, m in enumerate(maps):
        assert sorted(m.keys()) == sorted(keys), f"{name}: row {i} has keys {sorted(m.keys())}, expected {sorted(keys)}"
        for c, key in enumerate(keys):
            worst = max(worst, abs(float(m[key]) - want_proba[i, c]))
        got = labels[i].decode() if isinstance(labels[i], bytes) else labels[i]
        top = np.sort(want_proba[i])[::-1]
        if top[0] - top[1] <= TOL:  # a tie: either of the tied classes is right
            ties += 1
            tied = clf.classes_[want_proba[i] >= top[0] - TOL]
            assert got in tied, f"{name}: row {i} label {got}, expected one of {tied}"
        else:
            assert got == want_labels[i], f"{name}: row {i} label {got}, sklearn predicts {want_labels[i]}"
    assert worst <= TOL, f"{name}: probabilities differ from predict_proba by up to {worst:.3g}"
    print(f"{name}: {len(x)} rows, labels match predict ({ties} ties), max |p - predict_proba| = {worst:.2g}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tessera = sys.argv[1]
    iris = load_iris()
    x = iris.data.astype(np.float32)
    y_int = iris.target.astype(np.int64)
    y_str = iris.target_names[iris.target]

    cases = []
    lr = LogisticRegression(max_iter=1000).fit(x, y_int)
    cases.append(("LogisticRegression/int64", lr, export_logistic_regression(lr)))
    lr_s = LogisticRegression(max_iter=1000).fit(x, y_str)
    cases.append(("LogisticRegression/string", lr_s, export_logistic_regression(lr_s)))
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(x, y_int)
    cases.append(("RandomForest/int64", forest, export_trees(forest)))
    tree_s = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y_str)
    cases.append(("DecisionTree/string", tree_s, export_trees(tree_s)))
    for name, clf, model in cases:
        check(name, clf, model, x, tessera)
    # A bigger forest on digits: 64 features, 10 classes.
    digits = load_digits()
    xd = digits.data.astype(np.float32)
    forest_d = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0).fit(xd, digits.target.astype(np.int64))
    check("RandomForest/digits", forest_d, export_trees(forest_d), xd, tessera)
    print("sklearn zipmap: all models match")


if __name__ == "__main__":
    main()
