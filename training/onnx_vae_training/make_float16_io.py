"""Writes float16-IO copies of a model folder's graphs, for the float16 path's tests.

    PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.make_float16_io models/fixtures/mlp-probs

Each graph gets float16 inputs and outputs, with a Cast to float32 after each input and a Cast back to float16 before
each output, so the body runs in float32 on any execution provider (onnxruntime's CPU and wasm backends have few
float16 kernels; a fully float16 graph needs WebGPU with shader-f16). The copies are written next to the originals as
`<name>.float16.onnx` and listed in the manifest's "float16" block. The SDK converts float32 <-> float16 at the
boundaries, so results equal the float32 graphs' up to float16 rounding of the inputs and outputs.
"""
import argparse
import json
import os

import onnx
from onnx import TensorProto, helper


def float16_edge(graph, value, outgoing):
    """Makes one float input (outgoing=False) or output float16, with a Cast between it and the float32 body."""
    inner = value.name + "__float32"
    for node in graph.node:
        names = node.output if outgoing else node.input
        names[:] = [inner if name == value.name else name for name in names]
    value.type.tensor_type.elem_type = TensorProto.FLOAT16
    if outgoing:
        return helper.make_node("Cast", [inner], [value.name], to=TensorProto.FLOAT16, name=value.name + "_to_float16")
    return helper.make_node("Cast", [value.name], [inner], to=TensorProto.FLOAT, name=value.name + "_to_float32")


def float16_io(path_in, path_out):
    model = onnx.load(path_in)
    graph = model.graph
    floats = lambda values: [v for v in values if v.type.tensor_type.elem_type == TensorProto.FLOAT]
    casts_in = [float16_edge(graph, value, False) for value in floats(graph.input)]
    casts_out = [float16_edge(graph, value, True) for value in floats(graph.output)]
    nodes = casts_in + list(graph.node) + casts_out
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path_out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="a model folder with vae.json, e.g. models/fixtures/mlp-probs")
    folder = parser.parse_args(argv).folder
    manifest_path = os.path.join(folder, "vae.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    variant = {}
    for role in ("encoder", "decoder"):
        source = manifest[role]["file"]
        target = source[: -len(".onnx")] + ".float16.onnx"
        float16_io(os.path.join(folder, source), os.path.join(folder, target))
        variant[role] = target
        print("wrote", os.path.join(folder, target))
    manifest["float16"] = variant
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("updated", manifest_path)


if __name__ == "__main__":
    main()
