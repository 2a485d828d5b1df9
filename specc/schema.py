"""JSON Schema of the whole spec language, built from the registry (plugins included).

Editors' YAML language servers use it for completion and inline errors::

    # yaml-language-server: $schema=specc.schema.json
"""

from __future__ import annotations

# ruff: noqa: UP007  (unions are built at run time from the registry)
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from .assembled import TopLevel
from .registry import current


def _node_model(name: str, kind: Any) -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload]
        f"Node_{name}", __base__=kind.Params, __doc__=kind.summary() or None,
        op=(Literal[name], Field(description=kind.summary())),
        in_=(Union[str, list[str]], Field(alias="in", description="Input node(s).")),
        share=(Union[str, None], Field(None, description="Reuse this node's weights.")),
        trainable=(bool, Field(True, description="false freezes the weights.")),
    )


def _layer_model(name: str, kind: Any) -> type[BaseModel]:
    params = create_model(  # type: ignore[call-overload]
        f"Layer_{name}_params", __base__=kind.Params,
        name=(Union[str, None], Field(None, description="Node name.")),
        repeat=(Union[int, None], Field(None, ge=1, description="Apply N times in a row.")),
        share=(Union[str, None], None), trainable=(bool, True),
        in_=(Union[str, list[str], None], Field(None, alias="in")),
    )
    return create_model(f"Layer_{name}", __config__=ConfigDict(extra="forbid"),
                        **{name: (Union[params, None], Field(description=kind.summary()))})


def train_union() -> Any:
    """``train:`` is one model per regime, selected by ``regime`` (omitted: the default)."""
    from .spec.training import TrainConfig

    trainers = current().trainers
    default = TrainConfig.model_fields["regime"].default
    arms = []
    for name, cls in trainers.items():
        names = Literal[tuple([name, *trainers.aliases_of(name)])]  # type: ignore[misc]
        arms.append(create_model(  # type: ignore[call-overload]
            f"Train_{name}", __base__=cls.Config, __doc__=cls.__doc__,
            regime=(names, Field(default if name == default else ...,
                                 description="The training regime."))))
    return Union[tuple(arms)]  # type: ignore[valid-type]


def json_schema() -> dict[str, Any]:
    layers = current().layers
    node_models, layer_models, bare = [], [], []
    for name, kind in layers.items():
        for n in [name, *layers.aliases_of(name)]:
            node_models.append(_node_model(n, kind))
            layer_models.append(_layer_model(n, kind))
            bare.append(n)
    node_union = Annotated[Union[tuple(node_models)], Field(discriminator="op")]  # type: ignore
    layer_item = Union[Literal[tuple(bare)], Union[tuple(layer_models)]]  # type: ignore
    fields: dict[str, Any] = {
        "layers": (Union[list[layer_item], None], None),
        "nodes": (Union[dict[str, node_union], None], None),
    }
    network = create_model("Network", __config__=ConfigDict(extra="forbid"),
                           inputs=(dict[str, Any], ...),
                           outputs=(Union[str, list[str], None], None), **fields)
    fields["train"] = (Union[train_union(), None], None)
    model = create_model("SpecFile", __base__=TopLevel,
                         networks=(Union[dict[str, network], None], None), **fields)
    schema = TypeAdapter(model).json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "specc spec"
    return schema
