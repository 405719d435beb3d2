"""Exporting PyTorch modules to ONNX the one way this project does it, and describing the graphs it wrote."""

import warnings

import torch

OPSET = 17


def quiet_exporter():
    """torch 1.13's exporter warns about prim::Constant shape inference on every graph; harmless here."""
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")


def export(module, args, path, input_names, output_names, dynamic_axes):
    """torch.onnx.export in eval mode without gradients: opset 17, float32 weights inside, constants folded."""
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True,
                          export_params=True)


def dims_of(value):
    """The shape of a graph input or output: symbolic names where the axis is dynamic, numbers elsewhere."""
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def describe(value):
    """`name[dims]:TYPE` of a graph input or output, e.g. `sample['batch', 3, 'height', 'width']:FLOAT`."""
    import onnx

    return f"{value.name}{dims_of(value)}:{onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type)}"


def check(path):
    """Runs onnx.checker (full check) on the file; returns the loaded model."""
    import onnx

    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model
