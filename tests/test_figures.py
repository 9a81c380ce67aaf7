"""Every figure renders to a real PNG with a stable data digest, and the plotted data are right."""
import numpy as np
import pytest

from verify import figures


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figure_renders_with_a_stable_digest(name, tmp_path):
    first = figures.render(name, tmp_path / f"{name}.png")
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000, "suspiciously small PNG"
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    assert pixels[..., :3].std() > 0.05, "the image is (nearly) blank"
    second = figures.render(name, tmp_path / f"{name}-again.png")
    assert len(first) == 64 and second == first


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_figure_is_registered_with_a_caption_and_a_known_derivation(name):
    from derive import catalogue

    func, caption, derivation = figures.FIGURES[name]
    assert callable(func) and len(caption) > 20
    assert derivation in catalogue.names()


def test_stability_region_is_unstable_exactly_beyond_the_jury_boundary():
    from verify.momentum_maps import REGIMES

    fig, data = figures.momentum_stability_region()
    figures._plt().close(fig)
    x, beta = np.meshgrid(data["x"], data["beta"])
    dx = data["x"][1] - data["x"][0]
    for method, x_max in [("heavy-ball", 2 + 2 * beta), ("nesterov", (2 + 2 * beta) / (1 + 2 * beta))]:
        unstable = data[f"regime_{method}"] == REGIMES.index("unstable")
        beyond = x > x_max
        wrong = unstable != beyond
        assert not wrong[np.abs(x - x_max) > dx].any(), method  # exact away from the boundary
        assert wrong.sum() <= len(data["beta"]), method  # at most one cell per row, at the boundary
        assert unstable.any() and (~unstable).any()


def test_trajectories_and_rates_match_the_closed_forms():
    fig, data = figures.momentum_regime_trajectories()
    figures._plt().close(fig)
    theta = data["theta_sign-flipping"]
    assert (np.sign(theta[1:12]) == (-1.0) ** np.arange(1, 12)).all()  # alternates in sign
    assert (np.diff(data["theta_overdamped"]) < 0).all() and (data["theta_overdamped"] > 0).all()
    t = data["t"]
    assert np.allclose(data["theta_critically damped"], (1 + t / 2) * 0.5**t)  # double root 1/2; θ0 = 1, θ1 = 0.75
    fig, data = figures.momentum_vs_gd()
    figures._plt().close(fig)
    final = {k.split(" ", 1)[1]: v[-1] for k, v in data.items() if k.startswith("error")}
    assert final["heavy ball"] < final["Nesterov best"] < final["Nesterov standard"] < 1e-10 < final["GD"]
    for name, err in final.items():  # observed rate over the last 100 steps vs ρ, within 1%
        observed = (data[f"error {name}"][-1] / data[f"error {name}"][-101]) ** (1 / 100)
        predicted = data[f"predicted {name}"][1] / data[f"predicted {name}"][0]
        assert abs(observed - predicted) < 0.01 * predicted, (name, observed, predicted)
