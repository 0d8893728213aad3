"""Export tiny Stable Diffusion v1.x models with PyTorch's TorchScript ONNX exporter, the recipe of tests/fixtures.

The GPU machine has PyTorch, onnx and onnxruntime (CPU) but not diffusers, so the model code is diffusers v0.2.4's
own `src/diffusers/models/*.py` (the code the fixtures were exported from), passed with --diffusers-models DIR
(for example `git -C DIFFUSERS_CHECKOUT archive v0.2.4 src/diffusers/models | tar -x`). Its two imports from the
rest of diffusers (ConfigMixin/register_to_config and ModelMixin) are replaced by the few lines below that the
forward passes need (`self.config`), so the traced graphs are the library's, not a re-implementation.

    python3 export_tiny_models.py --diffusers-models DIR --out DIR [--only NAME ...]

For each model: DIR/NAME/model.onnx and DIR/NAME/test_data_set_0/{input,output}_<i>.pb (serialized TensorProto),
outputs computed by ONNX Runtime (CPU) on the exported model, as the fixtures' README describes; the PyTorch
output is compared with it and printed. `census.json` lists every exported model's op counts.
"""

import argparse
import collections
import functools
import importlib.util
import inspect
import json
import os
import sys
import types

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper


def load_diffusers_models(models_dir):
    """Import diffusers v0.2.4's models package from its source files, with stand-ins for its two library imports."""
    pkg = types.ModuleType("diffusers")
    pkg.__path__ = []
    sys.modules["diffusers"] = pkg

    config_utils = types.ModuleType("diffusers.configuration_utils")

    class ConfigMixin:
        pass

    def register_to_config(init):
        # what the forward passes read: self.config.<argument>, defaults included
        signature = inspect.signature(init)

        @functools.wraps(init)
        def inner(self, *args, **kwargs):
            init(self, *args, **kwargs)
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            values = dict(bound.arguments)
            values.pop("self")
            object.__setattr__(self, "config", types.SimpleNamespace(**values))

        return inner

    config_utils.ConfigMixin = ConfigMixin
    config_utils.register_to_config = register_to_config
    sys.modules["diffusers.configuration_utils"] = config_utils

    modeling_utils = types.ModuleType("diffusers.modeling_utils")

    class ModelMixin(torch.nn.Module):
        pass

    modeling_utils.ModelMixin = ModelMixin
    sys.modules["diffusers.modeling_utils"] = modeling_utils

    models = types.ModuleType("diffusers.models")
    models.__path__ = [models_dir]
    sys.modules["diffusers.models"] = models
    loaded = {}
    for name in ["embeddings", "resnet", "attention", "unet_blocks", "unet_2d_condition", "vae"]:
        spec = importlib.util.spec_from_file_location(f"diffusers.models.{name}", os.path.join(models_dir, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        loaded[name] = module
    return loaded


class UnetWrapper(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.u = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.u(sample, timestep, encoder_hidden_states)["sample"]


class DecoderWrapper(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.v = vae

    def forward(self, latents):
        return self.v.decode(latents)


def tensor_pb(path, array):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array).SerializeToString())


def census(path):
    model = onnx.load(path)
    counts = collections.Counter(
        (n.domain + "::" if n.domain not in ("", "ai.onnx") else "") + n.op_type for n in model.graph.node
    )
    return {"nodes": len(model.graph.node), "ops": dict(sorted(counts.items())), "bytes": os.path.getsize(path)}


def rel_l2(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def export_unet(mods, name, out, channels, cross_dim, heads, fp16, dynamic, aten, test_shape):
    torch.manual_seed(0)
    unet = mods["unet_2d_condition"].UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=tuple(channels),
        cross_attention_dim=cross_dim,
        attention_head_dim=heads,
    ).eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if fp16 else torch.float32
    model = UnetWrapper(unet).to(device)
    if fp16:
        model = model.half()
    export_batch, export_hw, seq = 2, 16, 77
    args = (
        torch.randn(export_batch, 4, export_hw, export_hw, device=device, dtype=dtype),
        torch.tensor([981.0], device=device, dtype=dtype),
        torch.randn(export_batch, seq, cross_dim, device=device, dtype=dtype),
    )
    folder = os.path.join(out, name)
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    dynamic_axes = (
        {
            "input_0": {0: "batch", 2: "height", 3: "width"},
            "input_2": {0: "batch", 1: "sequence"},
            "output_0": {0: "batch", 2: "height", 3: "width"},
        }
        if dynamic
        else None
    )
    export_type = torch.onnx.OperatorExportTypes.ONNX_ATEN_FALLBACK if aten else torch.onnx.OperatorExportTypes.ONNX
    with torch.no_grad(), torch.autocast(device, enabled=fp16 and device == "cuda"):
        torch.onnx.export(
            model,
            args,
            path,
            input_names=["input_0", "input_1", "input_2"],
            output_names=["output_0"],
            opset_version=12,
            dynamic_axes=dynamic_axes,
            operator_export_type=export_type,
            do_constant_folding=True,
            dynamo=False,
        )

    batch, hw = test_shape
    rng = np.random.default_rng(1234)
    np_dtype = np.float16 if fp16 else np.float32
    inputs = [
        rng.standard_normal((batch, 4, hw, hw)).astype(np_dtype),
        np.array([981.0], dtype=np_dtype),
        rng.standard_normal((batch, seq, cross_dim)).astype(np_dtype),
    ]
    with torch.no_grad(), torch.autocast(device, enabled=fp16 and device == "cuda"):
        torch_out = model(*(torch.from_numpy(x).to(device) for x in inputs)).float().cpu().numpy()
    result = run_ort_reference(path, folder, inputs)
    return {"name": name, "torch_vs_ort_rel_l2": rel_l2(torch_out, result), **census(path)}


def run_ort_reference(path, folder, inputs):
    """The fixtures' reference: ONNX Runtime (CPU) on the exported model; ATen fallback nodes make ORT refuse a
    model, so those are evaluated on the same export with the ATen broadcast_to replaced by Expand."""
    model = onnx.load(path)
    runnable = path
    aten = [n for n in model.graph.node if n.op_type == "ATen"]
    if aten:
        for node in aten:
            assert [a.s.decode() for a in node.attribute if a.name == "operator"] == ["broadcast_to"], node
            node.op_type, node.domain = "Expand", ""
            del node.attribute[:]
        runnable = os.path.join(folder, "expand.onnx.tmp")
        onnx.save(model, runnable)
    session = ort.InferenceSession(runnable, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    (result,) = session.run(None, dict(zip(names, inputs)))
    if runnable != path:
        os.remove(runnable)
    for i, x in enumerate(inputs):
        tensor_pb(os.path.join(folder, "test_data_set_0", f"input_{i}.pb"), x)
    tensor_pb(os.path.join(folder, "test_data_set_0", "output_0.pb"), result)
    return result.astype(np.float32)


def export_vae_decoder(mods, name, out, channels, latent_hw):
    torch.manual_seed(0)
    n = len(channels)
    vae = mods["vae"].AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=tuple(channels),
        layers_per_block=1,
        latent_channels=4,
    ).eval()
    model = DecoderWrapper(vae)
    folder = os.path.join(out, name)
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    latents = torch.randn(1, 4, latent_hw, latent_hw)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (latents,),
            path,
            input_names=["input_0"],
            output_names=["output_0"],
            opset_version=12,
            do_constant_folding=True,
            dynamo=False,
        )
    rng = np.random.default_rng(1234)
    inputs = [rng.standard_normal((1, 4, latent_hw, latent_hw)).astype(np.float32)]
    with torch.no_grad():
        torch_out = model(torch.from_numpy(inputs[0])).numpy()
    result = run_ort_reference(path, folder, inputs)
    return {"name": name, "torch_vs_ort_rel_l2": rel_l2(torch_out, result), **census(path)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--diffusers-models", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", nargs="*")
    a = parser.parse_args()
    mods = load_diffusers_models(a.diffusers_models)
    jobs = {
        # the recipe of tests/fixtures/tiny_unet_dyn12_fp16_aten (run it with --only to compare the census): PyTorch
        # 2.11 exports broadcast_to as Expand (plus its Where/Equal shape guard), not as ATen, so only that differs
        "recipe_check_dyn12_fp16_aten": lambda: export_unet(
            mods, "recipe_check_dyn12_fp16_aten", a.out, [32, 32, 32, 32], 32, 8, True, True, True, (4, 32)),
        # dynamic exports of other channel sizes (issue 14; with PyTorch 2.11 broadcast_to exports as Expand): channels that change between blocks (1x1 shortcut
        # convolutions, GroupNorm with 2-3 channels per group), other cross-attention widths and head counts
        "tiny_unet_dyn12_fp16_c32-64h4": lambda: export_unet(
            mods, "tiny_unet_dyn12_fp16_c32-64h4", a.out, [32, 32, 32, 64], 40, 4, True, True, True, (4, 32)),
        "tiny_unet_dyn12_fp16_c32-64": lambda: export_unet(
            mods, "tiny_unet_dyn12_fp16_c32-64", a.out, [32, 64, 64, 64], 48, 8, True, True, True, (4, 32)),
        "tiny_unet_dyn12_fp32_c32-64h4": lambda: export_unet(
            mods, "tiny_unet_dyn12_fp32_c32-64h4", a.out, [32, 32, 32, 64], 40, 4, False, True, True, (3, 24)),
        # a decoder whose latent matches the tiny UNets' 16x16 (issue 12)
        "tiny_vae_decoder16_opset12_fp32": lambda: export_vae_decoder(
            mods, "tiny_vae_decoder16_opset12_fp32", a.out, [32, 32, 32, 32], 16),
    }
    results = []
    for name, job in jobs.items():
        if (a.only and name not in a.only) or (not a.only and name.startswith("recipe_check")):
            continue
        r = job()
        print(f"{r['name']}: {r['nodes']} nodes, {r['bytes'] / 2**20:.2f} MiB, torch vs ORT rel L2 {r['torch_vs_ort_rel_l2']:.2e}")
        results.append(r)
    with open(os.path.join(a.out, "census.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
