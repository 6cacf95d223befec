#!/usr/bin/python3
"""Generates the differential-test models with random weights, as conformance-style cases:

    OUT/NAME/model.onnx
    OUT/NAME/test_data_set_0/input_K.pb    random inputs (fixed seed)
    OUT/NAME/test_data_set_0/output_K.pb   PyTorch's outputs (a third opinion beside ORT's)

Usage: /usr/bin/python3 gen_models.py --out DIR [--force] NAME...   (NAME from --list)
A case whose model.onnx exists is skipped unless --force. Nothing is downloaded: torchvision
models are built with weights=None; BatchNorm statistics are randomized so folding them matters.
"""
import argparse
import math
import os
import shutil
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import tensorproto  # noqa: E402

SEED = 20240601


# ---------------------------------------------------------------- BERT-like encoder
class BertConfig:
    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, intermediate=3072,
                 max_pos=512, type_vocab=2):
        self.vocab, self.hidden, self.layers, self.heads = vocab, hidden, layers, heads
        self.intermediate, self.max_pos, self.type_vocab = intermediate, max_pos, type_vocab


class LayerNorm(nn.Module):
    """Written out (ReduceMean/Sub/Pow/Sqrt/Div) like pre-opset-17 exports, so the
    LayerNorm fusion path gets exercised; the ViT case uses LayerNormalization."""

    def __init__(self, n, eps=1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = (x - mean).pow(2).mean(-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.head_dim = c.heads, c.hidden // c.heads
        self.query = nn.Linear(c.hidden, c.hidden)
        self.key = nn.Linear(c.hidden, c.hidden)
        self.value = nn.Linear(c.hidden, c.hidden)
        self.attn_out = nn.Linear(c.hidden, c.hidden)
        self.attn_norm = LayerNorm(c.hidden)
        self.ffn_in = nn.Linear(c.hidden, c.intermediate)
        self.ffn_out = nn.Linear(c.intermediate, c.hidden)
        self.ffn_norm = LayerNorm(c.hidden)

    def split(self, x):  # [B,S,H] -> [B,heads,S,head_dim]
        b, s = x.shape[0], x.shape[1]
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_bias):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask_bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        ctx = ctx.transpose(1, 2).reshape(x.shape[0], x.shape[1], self.heads * self.head_dim)
        x = self.attn_norm(x + self.attn_out(ctx))
        h = self.ffn_in(x)
        h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))  # exact GELU, as BERT exports it
        return self.ffn_norm(x + self.ffn_out(h))


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word = nn.Embedding(c.vocab, c.hidden)
        self.position = nn.Embedding(c.max_pos, c.hidden)
        self.token_type = nn.Embedding(c.type_vocab, c.hidden)
        self.emb_norm = LayerNorm(c.hidden)
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c.layers))
        self.pooler = nn.Linear(c.hidden, c.hidden)
        self.register_buffer("position_ids", torch.arange(c.max_pos).unsqueeze(0))
        for m in self.modules():  # BERT's init: N(0, 0.02)
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.bias, std=0.02)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        pos = self.position_ids[:, :seq]
        x = self.word(input_ids) + self.position(pos) + self.token_type.weight[0]
        x = self.emb_norm(x)
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x, torch.tanh(self.pooler(x[:, 0]))


# ---------------------------------------------------------------- model table
def randomize_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    return model


def calibrate_head(model, x, gen):
    """Rescales the last Linear so the logits have std 1: with random weights they come out
    all-zero (ViT's zero-initialized head), ~0.05 (MobileNet) or ~100 (ResNet), and the
    absolute tolerance would then mean too little or too much."""
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        if not head.weight.any():
            head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * 0.02)
        std = float(model(x).std())
        head.weight.mul_(1.0 / std)
        head.bias.mul_(1.0 / std)


def vision(builder, batch, opset):
    def make(gen):
        import torchvision
        model = randomize_batchnorm(getattr(torchvision.models, builder)(weights=None), gen)
        x = torch.randn(batch, 3, 224, 224, generator=gen)
        calibrate_head(model.eval(), x, gen)
        return model, (x,), ["input"], ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}}, opset
    return make


def bert(config, batch, seq, opset):
    def make(gen):
        model = BertEncoder(config)
        ids = torch.randint(0, config.vocab, (batch, seq), generator=gen, dtype=torch.int64)
        mask = torch.ones(batch, seq, dtype=torch.int64)
        mask[1:, seq - seq // 4:] = 0  # padded tail on every row after the first
        axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}}
        return (model, (ids, mask), ["input_ids", "attention_mask"],
                ["last_hidden_state", "pooler_output"], axes, opset)
    return make


def digits(gen):
    del gen
    return None  # copied from models/digits (the trained, committed demo model)


MODELS = {
    "digits": digits,
    "mobilenet_v2": vision("mobilenet_v2", 2, 13),
    "resnet50": vision("resnet50", 2, 13),
    "efficientnet_b0": vision("efficientnet_b0", 2, 13),
    "vit_b_16": vision("vit_b_16", 1, 17),
    "bert_small": bert(BertConfig(vocab=8000, hidden=256, layers=4, heads=4, intermediate=1024), 2, 24, 17),
    "bert_base": bert(BertConfig(), 2, 32, 13),
}


def generate(name, out_dir):
    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    data = os.path.join(tmp, "test_data_set_0")
    os.makedirs(data)
    if name == "digits":
        src = os.path.join(REPO, "models", "digits")
        shutil.copy(os.path.join(src, "model.onnx"), tmp)
        for f in ("input_0.pb", "output_0.pb"):
            shutil.copy(os.path.join(src, "test_data_set_0", f), data)
    else:
        torch.manual_seed(SEED)
        gen = torch.Generator().manual_seed(SEED)
        model, inputs, in_names, out_names, axes, opset = MODELS[name](gen)
        model.eval()
        with torch.no_grad():
            outs = model(*inputs)
            outs = outs if isinstance(outs, tuple) else (outs,)
        # Exported with grad enabled: under no_grad nn.MultiheadAttention (ViT) takes its fused
        # fast path, which has no ONNX export.
        torch.onnx.export(model, inputs, os.path.join(tmp, "model.onnx"), opset_version=opset,
                          input_names=in_names, output_names=out_names, dynamic_axes=axes,
                          do_constant_folding=True)
        for k, (n, t) in enumerate(zip(in_names, inputs)):
            tensorproto.write_tensor(os.path.join(data, f"input_{k}.pb"), t.numpy(), n)
        for k, (n, t) in enumerate(zip(out_names, outs)):
            tensorproto.write_tensor(os.path.join(data, f"output_{k}.pb"), t.numpy(), n)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "build", "differential-models"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.list:
        print("\n".join(MODELS))
        return
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in args.names or list(MODELS):
        if name not in MODELS:
            sys.exit(f"gen_models: unknown model '{name}' (known: {', '.join(MODELS)})")
        out_dir = os.path.join(args.out, name)
        if not args.force and os.path.exists(os.path.join(out_dir, "model.onnx")):
            continue
        t0 = time.time()
        generate(name, out_dir)
        size = os.path.getsize(os.path.join(out_dir, "model.onnx")) / 1e6
        print(f"generated {name}: {size:.1f} MB in {time.time() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
