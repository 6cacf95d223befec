#!/usr/bin/python3
"""Trains the bundled demo model: a small CNN on scikit-learn's 8x8 digits.

Writes models/digits/model.onnx (opset 13, dynamic batch axis), demo samples
(models/digits/samples/input_0.pb + labels.json) and a conformance-style case
(models/digits/test_data_set_0/{input_0,output_0}.pb) so that
`tessera test models/digits` checks the model against PyTorch's answers.

Deterministic: fixed seeds, single-threaded torch, fixed train/test split.
Run from anywhere: /usr/bin/python3 scripts/train_digits.py [--out models/digits]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tensorproto  # noqa: E402

SEED = 1234


class DigitsNet(nn.Module):
    """Input [N,1,8,8] pixels scaled to [0,1]; output [N,10] class probabilities."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16x4x4
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32x2x2
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10),
        )

    def forward(self, x):
        return torch.softmax(self.classifier(self.features(x)), dim=1)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(repo, "models", "digits"))
    ap.add_argument("--epochs", type=int, default=60)
    args = ap.parse_args()

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)

    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    nll = nn.NLLLoss()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = nll(torch.log(model(xt[idx]) + 1e-9), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_te)).argmax(1).numpy()
    acc = float((pred == y_te).mean())
    print(f"test accuracy: {acc * 100:.2f}% ({int((pred == y_te).sum())}/{len(y_te)})")
    if acc < 0.95:
        sys.exit(f"accuracy {acc:.4f} is below 0.95; not writing the model")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(
        model, torch.from_numpy(x_te[:1]), path, opset_version=13,
        input_names=["image"], output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        do_constant_folding=True,
    )
    import onnx
    m = onnx.load(path)
    m.doc_string = ("Tessera demo: CNN trained on scikit-learn's 8x8 digits. "
                    "image: [N,1,8,8] float32, pixel/16. probabilities: [N,10].")
    m.producer_name = "tessera scripts/train_digits.py"
    onnx.checker.check_model(m)
    onnx.save(m, path)

    # Demo samples: the first test image of each class, in class order shuffled
    # by a fixed permutation so predictions are not trivially 0..9.
    picks = [int(np.nonzero(y_te == c)[0][0]) for c in range(10)]
    picks = [picks[i] for i in np.random.RandomState(SEED).permutation(10)]
    batch = np.ascontiguousarray(x_te[picks])
    labels = [int(y_te[i]) for i in picks]
    with torch.no_grad():
        probs = model(torch.from_numpy(batch)).numpy()
    samples = os.path.join(args.out, "samples")
    os.makedirs(samples, exist_ok=True)
    tensorproto.write_tensor(os.path.join(samples, "input_0.pb"), batch, "image")
    with open(os.path.join(samples, "labels.json"), "w") as f:
        json.dump({"labels": labels, "test_accuracy": round(acc, 4)}, f)
        f.write("\n")
    case = os.path.join(args.out, "test_data_set_0")
    os.makedirs(case, exist_ok=True)
    tensorproto.write_tensor(os.path.join(case, "input_0.pb"), batch, "image")
    tensorproto.write_tensor(os.path.join(case, "output_0.pb"), probs, "probabilities")
    print(f"wrote {path} ({os.path.getsize(path)} bytes), {len(labels)} samples, labels {labels}")


if __name__ == "__main__":
    main()
