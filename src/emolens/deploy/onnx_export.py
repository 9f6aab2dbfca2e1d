"""ONNX export of a bundle: scaler + encoder + linear classifier scores + calibrated head.

The graph is written op by op with ``onnx.helper`` from the fitted numbers (no tracing, so
no dependency on a torch exporter version)::

    features (float64, N x 88)
      -> (x - mean) / std, clipped to +-clip          float64, training statistics
      -> Cast float32 -> encoder (Gemm + Relu ...)    float32, as torch runs it
      -> latent -> Cast float64
      -> classifier scores (affine) -> head (affine) -> Softmax
    outputs: probabilities (N x 4, float64), latent (N x k, float64), scores

The scaler uses the *training* statistics (what emolens does for a single file). For a
per-speaker/per-corpus model, normalise features per group yourself and export with
``include_scaler=False``: the graph then takes already z-scored (and clipped) features.
The out-of-domain score is not part of the graph.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emolens.deploy.bundle import Bundle, BundleError
from emolens.deploy.calibration import linear_scores

__all__ = ["export_onnx", "encoder_layers", "OPSET"]

OPSET = 17


def encoder_layers(encoder) -> list[tuple[str, np.ndarray | None, np.ndarray | None]]:
    """Flatten a torch encoder into ``("linear", W, b)`` and ``("relu", None, None)`` steps.

    Only Sequential-style stacks of Linear/ReLU/Identity (possibly nested) are supported;
    anything else raises a clear error. The result is checked against the module's output by
    :func:`export_onnx`.
    """
    from torch import nn

    layers = []
    for name, mod in encoder.named_modules():
        if list(mod.children()):
            continue  # containers: their leaves follow in registration order
        if isinstance(mod, nn.Linear):
            W = mod.weight.detach().cpu().numpy().astype(np.float32)
            b = (mod.bias.detach().cpu().numpy() if mod.bias is not None
                 else np.zeros(W.shape[0])).astype(np.float32)
            layers.append(("linear", W, b))
        elif isinstance(mod, nn.ReLU):
            layers.append(("relu", None, None))
        elif isinstance(mod, nn.Identity):
            continue
        else:
            raise BundleError(
                f"cannot export encoder layer {name!r} ({type(mod).__name__}): only Linear, "
                "ReLU and Identity layers are supported"
            )
    return layers


def export_onnx(bundle: Bundle, path: str | Path, include_scaler: bool = True,
                check: bool = True) -> Path:
    """Write the bundle's model as an ONNX file.

    Args:
        bundle: a loaded bundle whose ``reduce`` step is an autoencoder (or passthrough) and
            whose classifier is linear (linear SVC, LinearSVC, logistic regression).
        path: output .onnx file.
        include_scaler: put the training-statistics z-scoring and clipping into the graph.
        check: run ``onnx.checker`` and compare the encoder part with torch.

    Returns:
        The path written.
    """
    import onnx

    pipe = bundle.pipeline
    scale, reduce, clf = (pipe.named_steps[s] for s in ("scale", "reduce", "clf"))
    lin = linear_scores(clf)
    if lin is None:
        raise BundleError(
            f"ONNX export needs a linear classifier (linear SVC, LinearSVC or logistic "
            f"regression); this bundle's classifier is {type(clf).__name__}"
            f"(kernel={getattr(clf, 'kernel', None)!r})"
        )
    W_clf, b_clf, _ = lin
    g = _Graph()
    x = _scaler_nodes(g, scale, "features") if include_scaler else "features"
    x = _encoder_nodes(g, reduce, x)
    _head_nodes(g, x, W_clf, b_clf, bundle.head)
    model = _model(g, bundle, W_clf.shape[0], include_scaler)
    if check:
        onnx.checker.check_model(model)
        if hasattr(reduce, "encoder_"):
            _check_encoder(reduce, len(bundle.feature_names))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


class _Graph:
    """Nodes and initialisers of an ONNX graph, in the order they are added."""

    def __init__(self):
        self.inits: list = []
        self.nodes: list = []

    def const(self, name: str, arr, dtype) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype=dtype), name))
        return name

    def node(self, op: str, inputs, output: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, list(inputs), [output], **attrs))
        return output


def _scaler_nodes(g: _Graph, scale, x: str) -> str:
    """z-scoring with the training statistics, then the clip; returns the output's name."""
    g.const("scale_mean", scale.mean_, np.float64)
    g.const("scale_std", scale.scale_, np.float64)
    g.node("Sub", [x, "scale_mean"], "centred")
    x = g.node("Div", ["centred", "scale_std"], "zscored")
    if scale.clip is not None:
        g.const("clip_lo", -float(scale.clip), np.float64)
        g.const("clip_hi", float(scale.clip), np.float64)
        x = g.node("Clip", [x, "clip_lo", "clip_hi"], "clipped")
    return x


def _encoder_nodes(g: _Graph, reduce, x: str) -> str:
    """The encoder's layers in float32, as torch runs them (AutoencoderTransformer.transform),
    cast back to float64; returns the latent's name."""
    from onnx import TensorProto

    x = g.node("Cast", [x], "x32", to=TensorProto.FLOAT)
    if reduce == "passthrough" or reduce is None:
        pass
    elif hasattr(reduce, "encoder_"):
        for i, (kind, W, b) in enumerate(encoder_layers(reduce.encoder_)):
            if kind == "linear":
                g.const(f"enc{i}_W", W, np.float32)
                g.const(f"enc{i}_b", b, np.float32)
                x = g.node("Gemm", [x, f"enc{i}_W", f"enc{i}_b"], f"enc{i}", transB=1)
            else:
                x = g.node("Relu", [x], f"enc{i}")
    else:
        raise BundleError(
            f"ONNX export supports autoencoder or passthrough reduce steps, not {type(reduce).__name__}"
        )
    return g.node("Cast", [x], "latent", to=TensorProto.DOUBLE)


def _head_nodes(g: _Graph, latent: str, W_clf, b_clf, head) -> None:
    """Linear class scores, then the probability head's softmax."""
    g.const("clf_W", W_clf.T, np.float64)
    g.const("clf_b", b_clf, np.float64)
    g.node("MatMul", [latent, "clf_W"], "clf_mm")
    g.node("Add", ["clf_mm", "clf_b"], "scores")
    g.const("head_W", head.coef_.T, np.float64)
    g.const("head_b", head.intercept_, np.float64)
    g.node("MatMul", ["scores", "head_W"], "head_mm")
    g.node("Add", ["head_mm", "head_b"], "logits")
    g.node("Softmax", ["logits"], "probabilities", axis=1)


def _model(g: _Graph, bundle: Bundle, n_scores: int, include_scaler: bool):
    """The ONNX model of the graph: inputs, outputs and the bundle's metadata."""
    from onnx import TensorProto, helper

    n_in, n_lab = len(bundle.feature_names), len(bundle.labels)
    graph = helper.make_graph(
        g.nodes, "emolens",
        inputs=[helper.make_tensor_value_info("features", TensorProto.DOUBLE, ["N", n_in])],
        outputs=[
            helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, ["N", n_lab]),
            helper.make_tensor_value_info("latent", TensorProto.DOUBLE,
                                          ["N", bundle.latent_dim]),
            helper.make_tensor_value_info("scores", TensorProto.DOUBLE, ["N", n_scores]),
        ],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="emolens")
    model.ir_version = min(model.ir_version, 8)  # readable by older onnxruntime builds too
    meta = {
        "labels": ",".join(bundle.labels),
        "feature_set": bundle.feature_set,
        "feature_names": ",".join(bundle.feature_names),
        "scaler": "training statistics" if include_scaler else "none (input must be z-scored)",
        "normalisation_of_model": bundle.normalisation_name,
        # whoever computes the features outside emolens must prepare the audio the same way
        "preprocessing": (json.dumps(bundle.preprocessing, sort_keys=True)
                          if bundle.preprocessing else "not recorded (silence not trimmed)"),
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def _check_encoder(reduce, n_in: int) -> None:
    """The flattened layers must reproduce the torch encoder (guards unknown layouts)."""
    import torch

    x = np.random.default_rng(0).normal(size=(16, n_in)).astype(np.float32)
    with torch.no_grad():
        want = reduce.encoder_(torch.as_tensor(x)).numpy()
    h = x
    for kind, W, b in encoder_layers(reduce.encoder_):
        h = h @ W.T + b if kind == "linear" else np.maximum(h, 0)
    if not np.allclose(h, want, atol=1e-4, rtol=1e-4):
        raise BundleError(
            "the encoder's layers, read in order, do not reproduce its output; "
            "its forward() is not a plain stack and cannot be exported"
        )
