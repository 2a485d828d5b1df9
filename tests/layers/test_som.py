"""The ``som`` kind: shapes, distances and best-matching units against a brute-force loop, the
grid (rectangular and hexagonal neighbours, positions, steps), PCA initialisation, ONNX parity
of every output, the refusals (a grid of 0, another regime) and its pictures."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

import specc
from specc.cli import main
from specc.errors import SpecError
from specc.layers.som import SOM, SOMParams, umatrix

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "kohonen.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
PNG = b"\x89PNG\r\n\x1a\n"


def som(rows: int = 3, cols: int = 4, features: int = 5, **kw: str) -> torch.nn.Module:
    from specc.types import TensorType

    torch.manual_seed(0)
    return SOM.build(SOMParams(rows=rows, cols=cols, **kw), [TensorType((features,))])


def spec_with(layer: dict, **train: object) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["layers"] = [{"som": layer}]
    spec["train"].update(train)
    return spec


def test_distances_and_bmu_are_the_brute_force_ones() -> None:
    m = som()
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    w = m.codebook.numpy()
    brute = np.array([[np.sqrt(((xi - wj) ** 2).sum()) for wj in w] for xi in x.numpy()])
    assert np.allclose(m.distances(x).numpy(), brute, atol=1e-5)
    assert m.bmu(x).tolist() == brute.argmin(1).tolist()
    assert m(x).dtype == torch.int64 and m(x)[:, 0].tolist() == brute.argmin(1).tolist()
    coords = som(output="coordinates")(x)
    assert coords.tolist() == [[i // 4, i % 4] for i in brute.argmin(1)]
    assert som(output="distances")(x).shape == (6, 12)


def test_rectangular_grid_has_eight_neighbours_and_unit_spacing() -> None:
    m = som(4, 5)
    assert m.grid()[7].tolist() == [1.0, 2.0]  # index = row * cols + col
    n = m.neighbours()
    assert int(n[6].sum()) == 8 and int(n[0].sum()) == 3  # interior cell, corner
    assert not bool(n.diagonal().any())
    g = m.grid_distances()
    assert float(g[6, 7]) == 1.0 and abs(float(g[6, 12]) - 2 ** 0.5) < 1e-12


def test_hexagonal_grid_has_six_neighbours_all_at_distance_one() -> None:
    m = som(5, 5, topology="hexagonal")
    n, g, steps = m.neighbours(), m.grid_distances(), m.steps()
    for unit in (6, 7, 11, 12, 13, 16, 17, 18):  # interior cells of even and odd rows
        assert int(n[unit].sum()) == 6
        assert torch.allclose(g[unit][n[unit]], torch.ones(6, dtype=g.dtype))
    assert torch.equal(n, (g - 1).abs() < 1e-9)  # adjacent on the grid = 1 apart in the plane
    # odd rows are shifted right: (1, 0) touches (0, 0) and (0, 1), (2, 1) touches (1, 0)
    assert bool(n[5, 0]) and bool(n[5, 1]) and bool(n[11, 5]) and not bool(n[10, 6])
    assert int(steps[0, 24]) == 6 and int(steps[0, 4]) == 4  # (0,0) -> (4,4); -> (0,4)
    assert torch.equal(steps, steps.t())


def test_pca_init_spans_the_first_two_components() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 3, generator=gen, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.1])
    x = x + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    m = som(5, 3, features=3)
    xc = x - x.mean(0)
    m.init_pca(x.mean(0), xc.t() @ xc / len(x))
    w = m.codebook.double()
    assert torch.allclose(w.mean(0), x.mean(0), atol=1e-5)
    assert float((w[:, 2] - x[:, 2].mean()).abs().max()) < 0.05  # nothing along the third
    # the first component (sd ~3, axis 0) runs along the longer side (rows), -1..+1 sd
    span = w.reshape(5, 3, 3)[:, 1, 0]
    assert span[0] < span[-1] and abs(float(span[-1] - span[0]) - 2 * x[:, 0].std()) < 0.2


def test_umatrix_is_the_mean_distance_to_grid_neighbours() -> None:
    m = som(1, 3, features=1)
    m.codebook.copy_(torch.tensor([[0.0], [1.0], [3.0]]))
    u = umatrix(m.codebook.double().numpy(), m.neighbours().numpy())
    assert u.tolist() == [1.0, 1.5, 2.0]


@pytest.mark.parametrize("output", ["bmu", "coordinates", "distances"])
@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_every_output_exports_with_parity(output: str, topology: str, tmp_path: Path) -> None:
    spec = specc.load(spec_with({"rows": 6, "cols": 5, "topology": topology,
                                 "output": output}))
    result = specc.export(spec, tmp_path / "som.onnx")
    assert result.parity is not None and result.parity.ok, result.parity.failures


@pytest.mark.parametrize("field", ["rows", "cols"])
def test_a_grid_of_zero_is_a_located_error(field: str, tmp_path: Path) -> None:
    spec = spec_with({"rows": 7, "cols": 7, field: 0})
    path = tmp_path / "k.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError) as err:
        specc.load(path)
    issue = err.value.issues[0]
    assert issue.path[:3] == ("layers", 0, "som") and field in issue.path
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    line = path.read_text().splitlines().index(f"    {field}: 0") + 1
    assert f"k.yaml:{line}" in res.output and f"layers[0].som.{field}: must be > 0" in res.output
    assert "(received 0)" in res.output


def test_another_regime_is_refused(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["train"] = {"data": spec["train"]["data"], "loss": "mse"}
    path = tmp_path / "k.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    assert "'som'" in res.output and "competitive" in res.output


def test_sample_draws_the_umatrix_and_the_component_planes(tmp_path: Path) -> None:
    from specc.train.api import train

    spec = spec_with({"rows": 5, "cols": 6, "topology": "hexagonal"}, epochs=5,
                     checkpoint={"every": 1000, "best": False})
    train(spec, out=tmp_path / "run", quiet=True)
    runner = CliRunner()
    for what, name in ((None, "u.png"), ("planes", "planes.png")):
        args = ["sample", str(tmp_path / "run"), "-o", str(tmp_path / name)]
        res = runner.invoke(main, args + (["--what", what] if what else []))
        assert res.exit_code == 0, res.output
        assert (tmp_path / name).read_bytes()[:8] == PNG
    res = runner.invoke(main, ["sample", str(tmp_path / "run"), "-o", str(tmp_path / "x.png"),
                               "--what", "filters"])
    assert res.exit_code == 2
    assert "'som' draws no 'filters'" in res.output and "umatrix, planes" in res.output
    assert not (tmp_path / "x.png").exists()
