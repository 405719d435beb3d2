"""Loading the weights of an exported ONNX graph back into the PyTorch module it came from.

GroupNorm's affine parameters are folded by torch.onnx.export into Mul/Add initializers after an
InstanceNormalization; they are matched to the torch GroupNorm modules in execution order (forward hooks on a dry
run), and the group count is checked against the graph's Reshape constant. Every initializer must find its parameter
and every parameter its initializer, so a graph of another shape fails to load instead of loading wrongly.
"""

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper


class OnnxWeights:
    """An ONNX graph's initializers, and the GroupNorm affine parameters torch.onnx.export folded into it."""

    def __init__(self, path):
        model = onnx.load(path)
        graph = model.graph
        self.path = path
        self.arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        constants = {}
        for node in graph.node:
            if node.op_type == "Constant":
                constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        consumers = {}
        for node in graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        producer = {out: node for node in graph.node for out in node.output}

        def only_consumer(name, op):
            nodes = consumers.get(name, [])
            if len(nodes) != 1 or nodes[0].op_type != op:
                raise ValueError(f"{path}: expected {name} to feed one {op}, found {[n.op_type for n in nodes]}")
            return nodes[0]

        def initializer_input(node):
            names = [n for n in node.input if n in self.arrays]
            if len(names) != 1:
                raise ValueError(f"{path}: expected {node.op_type} {node.name} to take one initializer")
            return names[0]

        # GroupNorm as exported: Reshape [0, G, -1] -> InstanceNormalization(ones, zeros) -> Reshape -> Mul -> Add.
        self.group_norms = []
        for node in graph.node:
            if node.op_type != "InstanceNormalization":
                continue
            before = producer[node.input[0]]
            shape = constants.get(before.input[1], self.arrays.get(before.input[1])) if before.op_type == "Reshape" else None
            if shape is None or len(shape) != 3:
                raise ValueError(f"{path}: InstanceNormalization {node.name} is not the GroupNorm pattern")
            mul = only_consumer(only_consumer(node.output[0], "Reshape").output[0], "Mul")
            add = only_consumer(mul.output[0], "Add")
            eps = next(a.f for a in node.attribute if a.name == "epsilon")
            self.group_norms.append({"groups": int(shape[1]), "eps": eps, "weight": initializer_input(mul),
                                     "bias": initializer_input(add)})

    def load_into(self, module, dry_run_input):
        """Copies every parameter of `module` from the graph; raises unless parameters and initializers match 1:1."""
        order = []
        hooks = [m.register_forward_hook(lambda m, i, o: order.append(m))
                 for m in module.modules() if isinstance(m, nn.GroupNorm)]
        with torch.inference_mode():
            module(dry_run_input)
        for h in hooks:
            h.remove()
        if len(order) != len(self.group_norms):
            raise ValueError(f"{self.path}: {len(self.group_norms)} GroupNorms in the graph, {len(order)} in the module")
        used = set()
        state = {}
        norm_names = {id(m): name for name, m in module.named_modules()}
        for gn, found in zip(order, self.group_norms):
            name = norm_names[id(gn)]
            if gn.num_groups != found["groups"] or abs(gn.eps - found["eps"]) > 1e-9:
                raise ValueError(f"{self.path}: GroupNorm {name} has {gn.num_groups} groups (eps {gn.eps}), the graph "
                                 f"{found['groups']} (eps {found['eps']})")
            state[f"{name}.weight"] = self.arrays[found["weight"]].reshape(-1)
            state[f"{name}.bias"] = self.arrays[found["bias"]].reshape(-1)
            used.update((found["weight"], found["bias"]))
        for key in module.state_dict():
            if key in state:
                continue
            if key not in self.arrays:
                raise ValueError(f"{self.path}: no initializer for parameter {key}")
            state[key] = self.arrays[key]
            used.add(key)
        unused = sorted(set(self.arrays) - used)
        if unused:
            raise ValueError(f"{self.path}: initializers without a parameter: {unused[:8]}")
        expected = module.state_dict()
        for key, value in state.items():
            if tuple(value.shape) != tuple(expected[key].shape):
                raise ValueError(f"{self.path}: {key} is {tuple(value.shape)} in the graph, "
                                 f"{tuple(expected[key].shape)} in the module")
        module.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()},
                               strict=True)
        return module.eval()
