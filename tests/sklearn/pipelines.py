#!/usr/bin/env python3
"""scikit-learn parity: models trained on sklearn's bundled data sets, written to ONNX by hand
with onnx.helper (no converter is packaged), run by `tessera run` on .npy inputs, compared with
sklearn's own predictions.

  LinearRegression (diabetes)               -> LinearRegressor          |y - predict| <= 1e-3
  Normalizer + SVR (diabetes)               -> Normalizer, SVMRegressor |y - predict| <= 1e-3
  Normalizer + SVC(probability) (iris)      -> Normalizer, SVMClassifier: labels = predict
                                               (votes), |p - predict_proba| <= 1e-4
  LabelEncoder over strings (iris names)    -> LabelEncoder: codes = transform, unseen -> -1
  DictVectorizer + RandomForestRegressor    -> DictVectorizer, TreeEnsembleRegressor
    (diabetes rows as {feature: value})        |y - predict| <= 1e-4

The targets are in the hundreds, so 1e-3 is float32 rounding (Tessera computes in float32,
sklearn in float64); tree ensembles follow the same branches (float32 thresholds, see
zipmap_classifiers.py) and only sum in float32. Usage: pipelines.py TESSERA_BINARY.
Exits 77 (skipped) when sklearn or onnx is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import SequenceProto, TensorProto, helper, numpy_helper
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelEncoder, Normalizer
    from sklearn.svm import SVC, SVR
except ImportError as e:
    print(f"SKIP: {e.name} is missing (install python3-sklearn python3-onnx python3-numpy)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zipmap_classifiers import tree_attributes  # noqa: E402

ML = "ai.onnx.ml"


def make_model(name, nodes, inputs, outputs):
    graph = helper.make_graph(nodes, name, inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ML, 3)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def float_input(name, n_features):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, n_features])


def run(tessera, model, feeds, work):
    """Runs the model with each feed file given as --input; returns the output folder."""
    onnx.save(model, os.path.join(work, "model.onnx"))
    out = os.path.join(work, "out")
    args = [tessera, "run", os.path.join(work, "model.onnx"), "--output-dir", out]
    for f in feeds:
        args += ["--input", f]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return out


def run_npy(tessera, model, x, work):
    path = os.path.join(work, "X.npy")
    np.save(path, x)
    out = run(tessera, model, [path], work)
    return [np.load(os.path.join(out, f)) for f in sorted(os.listdir(out)) if f.endswith(".npy")]


def report(name, rows, worst, tol, extra=""):
    assert worst <= tol, f"{name}: differs from sklearn by up to {worst:.3g} (tolerance {tol})"
    print(f"{name}: {rows} rows, max |tessera - sklearn| = {worst:.2g} (tolerance {tol}){extra}")


def linear_regression(tessera, x, y, work):
    reg = LinearRegression().fit(x, y)
    node = helper.make_node("LinearRegressor", ["X"], ["y"], domain=ML, coefficients=reg.coef_.astype(np.float32).tolist(),
                            intercepts=[float(reg.intercept_)], targets=1)
    model = make_model("linear_regression", [node], [float_input("X", x.shape[1])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    got, = run_npy(tessera, model, x, work)
    report("LinearRegression/diabetes", len(x), np.abs(got[:, 0] - reg.predict(x)).max(), 1e-3)


def svm_kernel_attrs(svm):
    return {"kernel_type": "RBF", "kernel_params": [float(svm._gamma), float(svm.coef0), float(svm.degree)]}


def normalizer_node():
    return helper.make_node("Normalizer", ["X"], ["Xn"], domain=ML, norm="L2")


def normalizer_svr(tessera, x, y, work):
    pipe = make_pipeline(Normalizer(), SVR(C=100.0, gamma="scale")).fit(x, y)
    svr = pipe[-1]
    node = helper.make_node("SVMRegressor", ["Xn"], ["y"], domain=ML, n_supports=len(svr.support_),
                            support_vectors=svr.support_vectors_.astype(np.float32).ravel().tolist(),
                            coefficients=svr.dual_coef_.astype(np.float32).ravel().tolist(),
                            rho=[float(svr.intercept_[0])], **svm_kernel_attrs(svr))
    model = make_model("normalizer_svr", [normalizer_node(), node], [float_input("X", x.shape[1])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    got, = run_npy(tessera, model, x, work)
    report("Normalizer+SVR/diabetes", len(x), np.abs(got[:, 0] - pipe.predict(x)).max(), 1e-3)


def normalizer_svc(tessera, x, y, work):
    pipe = make_pipeline(Normalizer(), SVC(C=10.0, gamma="scale", probability=True, random_state=0)).fit(x, y)
    svc = pipe[-1]
    # libsvm's own coefficients and -rho (sklearn flips the public ones for two classes).
    node = helper.make_node("SVMClassifier", ["Xn"], ["label", "probabilities"], domain=ML,
                            classlabels_ints=[int(c) for c in svc.classes_],
                            vectors_per_class=[int(n) for n in svc.n_support_],
                            support_vectors=svc.support_vectors_.astype(np.float32).ravel().tolist(),
                            coefficients=svc._dual_coef_.astype(np.float32).ravel().tolist(),
                            rho=svc._intercept_.astype(np.float32).tolist(),
                            prob_a=svc.probA_.astype(np.float32).tolist(), prob_b=svc.probB_.astype(np.float32).tolist(),
                            **svm_kernel_attrs(svc))
    model = make_model("normalizer_svc", [normalizer_node(), node], [float_input("X", x.shape[1])],
                       [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(svc.classes_)])])
    label, proba = run_npy(tessera, model, x, work)
    want = pipe.predict_proba(x)
    # The label comes from the pairwise votes, as sklearn's predict (not the argmax of the
    # probabilities, which differs on rows where two classes are close).
    assert (label == pipe.predict(x)).all(), f"SVC labels differ from predict on rows {np.where(label != pipe.predict(x))[0]}"
    report("Normalizer+SVC/iris", len(x), np.abs(proba - want).max(), 1e-4, ", labels = predict")


def label_encoder(tessera, work):
    names = load_iris().target_names[load_iris().target]
    enc = LabelEncoder().fit(names)
    node = helper.make_node("LabelEncoder", ["names"], ["codes"], domain=ML, keys_strings=[str(c) for c in enc.classes_],
                            values_int64s=list(range(len(enc.classes_))), default_int64=-1)
    model = make_model("label_encoder", [node], [helper.make_tensor_value_info("names", TensorProto.STRING, [None])],
                       [helper.make_tensor_value_info("codes", TensorProto.INT64, [None])])
    feed = np.append(names, "unseen")  # sklearn refuses unseen labels; the model maps them to -1
    got, = run_npy(tessera, model, feed, work)
    want = np.append(enc.transform(names), -1)
    assert (got == want).all(), f"LabelEncoder codes differ: {got} vs {want}"
    print(f"LabelEncoder/iris names: {len(feed)} strings, codes = transform (unseen -> -1)")


def export_forest_regressor(forest, inp, out):
    a = tree_attributes(forest.estimators_, "target", lambda tree, n: [(0, tree.value[n][0][0])])
    return helper.make_node("TreeEnsembleRegressor", [inp], [out], domain=ML, n_targets=1, aggregate_function="SUM",
                            post_transform="NONE", **a)


def dict_vectorizer_forest(tessera, x, y, names, work):
    rows = [{name: float(v) for name, v in zip(names, row) if v != 0} for row in x]
    vec = DictVectorizer(sparse=False, dtype=np.float32)
    xv = vec.fit_transform(rows)
    forest = RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0).fit(xv, y)
    vectorize = helper.make_node("DictVectorizer", ["features"], ["X"], domain=ML,
                                 string_vocabulary=[str(f) for f in vec.feature_names_])
    map_type = onnx.TypeProto()
    map_type.map_type.key_type = TensorProto.STRING
    map_type.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, []))
    model = make_model("dict_vectorizer_forest", [vectorize, export_forest_regressor(forest, "X", "y")],
                       [helper.make_value_info("features", map_type)],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    worst = 0.0
    sample = range(0, len(rows), 20)  # one process per map: a sample of the rows
    for i in sample:
        keys = list(rows[i].keys())
        values = helper.make_sequence("values", SequenceProto.TENSOR,
                                      [numpy_helper.from_array(np.array(rows[i][k], np.float32)) for k in keys])
        path = os.path.join(work, f"row{i}.pb")
        with open(path, "wb") as f:
            f.write(helper.make_map("features", TensorProto.STRING, [k.encode() for k in keys], values).SerializeToString())
        out = run(tessera, model, [path], work)
        got = np.load(os.path.join(out, "output_0.npy"))
        worst = max(worst, abs(float(got[0, 0]) - float(forest.predict(vec.transform([rows[i]]))[0])))
    report("DictVectorizer+RandomForestRegressor/diabetes", len(sample), worst, 1e-4, " (one map per run)")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tessera = sys.argv[1]
    diabetes = load_diabetes()
    xd, yd = diabetes.data.astype(np.float32), diabetes.target
    iris = load_iris()
    xi, yi = iris.data.astype(np.float32), iris.target.astype(np.int64)
    for step in [lambda w: linear_regression(tessera, xd, yd, w), lambda w: normalizer_svr(tessera, xd, yd, w),
                 lambda w: normalizer_svc(tessera, xi, yi, w), lambda w: label_encoder(tessera, w),
                 lambda w: dict_vectorizer_forest(tessera, xd, yd, diabetes.feature_names, w)]:
        with tempfile.TemporaryDirectory() as work:
            step(work)
    print("sklearn pipelines: all models match")


if __name__ == "__main__":
    main()
