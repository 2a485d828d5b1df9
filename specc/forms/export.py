"""``specc export RUN --form NAME`` (or ``--inputs/--outputs``): one inference form to ONNX.

The form's module goes through the same exporters and parity check as the network (integer
outputs, e.g. decoded tokens, must be identical). It is exported bare: a free run feeds its
outputs back into its inputs, so the run's input preprocessing cannot sit at its edges; the
metadata records that preprocessing for the caller.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SpecError, did_you_mean
from ..fileio import inside, safe_name
from .spec import CutForm, Form, form_graph, known


def resolve_form(loaded: Any, name: str | None, inputs: Sequence[str] = (),
                 outputs: Sequence[str] = ()) -> Form:
    """The declared form ``name`` of the loaded spec, or an ad-hoc cut."""
    spec, graph = loaded.spec, loaded.graph
    if name is None:
        for option, names in (("--inputs", inputs), ("--outputs", outputs)):
            for n in names:
                known(graph, n, (option,))
        return Form("cut", "cut", CutForm(inputs=list(inputs) or None,
                                          outputs=list(outputs) or None))
    if inputs or outputs:
        raise SpecError("give either --form or --inputs/--outputs, not both", path=("--form",),
                        received=name)
    if name not in spec.forms:
        declared = ", ".join(spec.forms)
        raise SpecError(f"spec '{spec.name}' declares no form '{name}'", path=("--form",),
                        received=name, hint=did_you_mean(name, spec.forms)
                        or (f"declared forms: {declared}" if declared else
                            "declare it in the spec's forms: section (see README, Inference "
                            "forms), or cut with --inputs/--outputs"))
    form = spec.forms[name]
    if form_graph(form, spec.networks) is not graph:
        raise SpecError(f"form '{name}' is for network '{form.cfg.network}', not "
                        f"'{loaded.network}'", path=("--network",), received=loaded.network,
                        hint=f"--network {form.cfg.network}")
    return form


def export_form(loaded: Any, form: Form, output: str | Path | None, **options: Any) -> Any:
    """Build ``form`` over the loaded network, export it and check parity: an ExportResult."""
    from ..backends.onnx import metadata as meta
    from ..backends.onnx.export import export_module, int_highs, node_kinds, refuse_unexportable
    from .modules import build_form

    graph = loaded.graph
    if output is None:
        if loaded.run_dir is not None:
            output = loaded.run_dir / f"{form.name}.onnx"
            for name in (f"{form.name}.onnx", f"{form.name}.parity.json"):
                inside(loaded.run_dir, loaded.run_dir / name, f"run file '{name}'")
        else:
            output = Path(f"{safe_name(loaded.spec.name)}.{safe_name(form.name)}.onnx")
    try:
        refuse_unexportable(graph, by_shape=False)  # a form runs at lengths it fixes
    except SpecError as err:
        source = getattr(loaded.spec, "source", None)
        raise (source.error(err) if source is not None else err) from None
    fm = build_form(loaded.module, graph, form)
    highs = {n: h for n, h in int_highs(graph).items() if n in fm.input_types}
    if "start" in fm.input_types and "start" not in graph.inputs:  # a decoder without inputs
        highs["start"] = graph.type_of(form.cfg.output or graph.outputs[0]).shape[-1]
    props = meta.build(inputs=fm.input_types, outputs=fm.output_types,
                       version=loaded.spec.version, spec_hash=loaded.spec.hash,
                       name=loaded.spec.name, family=loaded.spec.family,
                       network=loaded.network if loaded.multi else None)
    props[meta.PREFIX + "form"] = form.name
    props[meta.PREFIX + "form_kind"] = form.kind
    props[meta.PREFIX + "weights"] = loaded.weights
    pre = {k: v for k, v in loaded.preprocess.items() if k in fm.input_types}
    notes = list(loaded.notes)
    if pre:
        props[meta.PREFIX + "preprocess"] = json.dumps(pre)
        props[meta.PREFIX + "preprocess_in_graph"] = "false"
        notes.append("the form takes preprocessed inputs (" + ", ".join(pre) + "); the "
                     "metadata records the run's preprocessing")
    result = export_module(fm.module, output, inputs=fm.input_types, outputs=fm.output_types,
                           int_highs=highs, kinds=node_kinds(graph), metadata=props,
                           description=loaded.spec.description,
                           parity_name=f"{Path(output).stem}.parity.json", **options)
    result.notes[:0] = notes
    return result
