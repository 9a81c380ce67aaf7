"""Two-species reaction-diffusion on a periodic domain, pseudo-spectral in space.

    u_t = f(u, v) + D_u ∇²u,    v_t = g(u, v) + D_v ∇²v,    x ∈ [0, L)^dim periodic (dim = 1 or 2).

The Laplacian is exact on the grid: the Fourier mode e^{ik·x}, k = 2πn/L, is multiplied by −|k|².
Time stepping treats diffusion exactly (it is diagonal in Fourier space) and reaction explicitly:

* ``"etd2"`` (default): the second-order exponential time differencing Runge-Kutta scheme (ETD2RK)
  of S. M. Cox and P. C. Matthews, "Exponential time differencing for stiff systems", J. Comput.
  Phys. 176 (2002) (written from the method's definition; the paper's equation number was not
  checked; tests/test_turing.py measures its second order): with c = −D|k|², φ₁(z) = (eᶻ − 1)/z,
  φ₂(z) = (eᶻ − 1 − z)/z² and N the reaction,
      a = e^{ch} ŵ + h φ₁(ch) N̂(w),    ŵ⁺ = a + h φ₂(ch) (N̂(a) − N̂(w));
* ``"imex"``: semi-implicit Euler, ŵ⁺ = (ŵ + h N̂(w)) / (1 + h D|k|²) (first order).

Fields have shape (..., n) in 1-D and (..., n, n) in 2-D; leading axes are independent runs.
Everything here is written by hand from the equations above: it does not use derive/.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Kinetics:
    """Reaction terms f(u, v), g(u, v) (vectorized), their Jacobian and a homogeneous steady state."""

    f: Callable[[Array, Array], Array]
    g: Callable[[Array, Array], Array]
    steady_state: tuple[float, float]
    jac: Callable[[float, float], Array] | None = None

    def jacobian(self, u: float | None = None, v: float | None = None) -> Array:
        """J = [[f_u, f_v], [g_u, g_v]] at (u, v) (default the steady state); central differences if
        no Jacobian was given."""
        u = self.steady_state[0] if u is None else u
        v = self.steady_state[1] if v is None else v
        if self.jac is not None:
            return np.asarray(self.jac(u, v), dtype=float)
        hs = 1e-6 * max(1.0, abs(u), abs(v))
        cols = []
        for du, dv in ((hs, 0.0), (0.0, hs)):
            cols.append([(self.f(u + du, v + dv) - self.f(u - du, v - dv)) / (2 * hs),
                         (self.g(u + du, v + dv) - self.g(u - du, v - dv)) / (2 * hs)])
        return np.array(cols, dtype=float).T


def generic(f: Callable, g: Callable, guess: tuple[float, float], jac: Callable | None = None) -> Kinetics:
    """Kinetics from callables f, g; the steady state by Newton's method from ``guess``."""
    kin = Kinetics(f, g, (float(guess[0]), float(guess[1])), jac)
    w = np.array(guess, dtype=float)
    for _ in range(100):
        r = np.array([f(w[0], w[1]), g(w[0], w[1])], dtype=float)
        if np.max(np.abs(r)) < 1e-13:
            break
        w = w - np.linalg.solve(Kinetics(f, g, (w[0], w[1]), jac).jacobian(), r)
    else:
        raise ValueError(f"Newton's method found no steady state from {guess}; try another guess")
    return Kinetics(f, g, (float(w[0]), float(w[1])), jac)


def schnakenberg(a: float, b: float) -> Kinetics:
    """f = a − u + u²v, g = b − u²v; steady state (a + b, b/(a + b)²); J = [[−1 + 2uv, u²], [−2uv, −u²]]."""
    if not (a > 0 and b > 0):
        raise ValueError(f"Schnakenberg needs a > 0 and b > 0; got a = {a}, b = {b}")
    return Kinetics(lambda u, v: a - u + u * u * v, lambda u, v: b - u * u * v, (a + b, b / (a + b) ** 2),
                    lambda u, v: np.array([[-1 + 2 * u * v, u * u], [-2 * u * v, -u * u]]))


def _check_diffusion(Du: float, Dv: float) -> None:
    if not (Du > 0 and Dv > 0):
        raise ValueError(f"diffusion coefficients must be positive; got D_u = {Du}, D_v = {Dv}")


def dispersion(J: Array, Du: float, Dv: float, k) -> Array:
    """Eigenvalues of J − k²D for each k (numpy eigvals), shape (len(k), 2), larger real part first."""
    _check_diffusion(Du, Dv)
    J = np.asarray(J, dtype=float)
    if J.shape != (2, 2):
        raise ValueError(f"J must be 2x2; got shape {J.shape}")
    k = np.atleast_1d(np.asarray(k, dtype=float))
    mats = J[None] - (k**2)[:, None, None] * np.diag([Du, Dv])[None]
    ev = np.linalg.eigvals(mats)
    order = np.argsort(-ev.real, axis=1, kind="stable")
    return np.take_along_axis(ev, order, axis=1)


def growth_rate(J: Array, Du: float, Dv: float, k) -> Array:
    """max Re λ(J − k²D): the linear growth rate of the mode with wavenumber k."""
    return dispersion(J, Du, Dv, k)[:, 0].real


def wavenumbers(n: int, L: float) -> Array:
    """The grid's wavenumbers 2π m/L in numpy's FFT order."""
    return 2 * np.pi * np.fft.fftfreq(n, d=L / n)


def _k2(shape: tuple[int, ...], L: float, dim: int) -> Array:
    n = shape[-1]
    kr = 2 * np.pi * np.fft.rfftfreq(n, d=L / n)
    if dim == 1:
        return kr**2
    kf = wavenumbers(shape[-2], L)
    return kf[:, None] ** 2 + kr[None, :] ** 2


def _phi(z: Array) -> tuple[Array, Array, Array]:
    """e^z, φ₁(z) = (e^z − 1)/z, φ₂(z) = (e^z − 1 − z)/z², with Taylor series near z = 0."""
    small = np.abs(z) < 1e-3
    zs = np.where(small, 1.0, z)
    phi1 = np.where(small, 1 + z / 2 + z**2 / 6, np.expm1(zs) / zs)
    phi2 = np.where(small, 0.5 + z / 6 + z**2 / 24, (np.expm1(zs) - zs) / zs**2)
    return np.exp(z), phi1, phi2


@dataclass
class Simulation:
    """Saved snapshots of a run: times, u and v with shape (len(times), *field_shape)."""

    t: Array
    u: Array
    v: Array
    L: float
    dim: int


def simulate(kin: Kinetics, Du: float, Dv: float, L: float, u0: Array, v0: Array, t_end: float, dt: float,
             n_save: int = 100, dim: int = 1, method: str = "etd2", progress=None) -> Simulation:
    """Integrate from (u0, v0) to t_end with steps of (at most) dt; save n_save + 1 snapshots."""
    _check_diffusion(Du, Dv)
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 or 2; got {dim}")
    if not (L > 0 and dt > 0 and t_end > 0):
        raise ValueError(f"L, dt and t_end must be positive; got L = {L}, dt = {dt}, t_end = {t_end}")
    if method not in ("etd2", "imex"):
        raise ValueError(f"method must be 'etd2' or 'imex'; got {method!r}")
    u, v = np.array(u0, dtype=float), np.array(v0, dtype=float)
    if u.shape != v.shape or u.ndim < dim or (dim == 2 and u.shape[-1] != u.shape[-2]):
        raise ValueError(f"u0 and v0 must have the same shape (..., n) in 1-D or (..., n, n) in 2-D; "
                         f"got {u.shape} and {v.shape}")
    shape = u.shape[-dim:]
    if dim == 1:
        fwd = lambda w: np.fft.rfft(w, axis=-1)  # noqa: E731
        inv = lambda w: np.fft.irfft(w, n=shape[0], axis=-1)  # noqa: E731
    else:
        fwd = lambda w: np.fft.rfft2(w, axes=(-2, -1))  # noqa: E731
        inv = lambda w: np.fft.irfft2(w, s=shape, axes=(-2, -1))  # noqa: E731
    k2 = _k2(u.shape, L, dim)
    per = max(1, int(np.ceil(t_end / (n_save * dt))))
    h = t_end / (n_save * per)
    Dk2 = np.stack([Du * k2, Dv * k2]).reshape(2, *([1] * (u.ndim - dim)), *k2.shape)  # species first
    if method == "etd2":
        e, p1, p2 = _phi(-Dk2 * h)
        hp1, hp2 = h * p1, h * p2
    else:
        implicit = 1.0 / (1.0 + h * Dk2)

    def reaction(w):
        return np.stack([kin.f(w[0], w[1]), kin.g(w[0], w[1])])

    w = np.stack([u, v])
    wh = fwd(w)
    ts, us, vs = [0.0], [u.copy()], [v.copy()]
    for i in range(n_save):
        for _ in range(per):
            nw = fwd(reaction(w))
            if method == "imex":
                wh = (wh + h * nw) * implicit
            else:
                ah = e * wh + hp1 * nw
                wh = ah + hp2 * (fwd(reaction(inv(ah))) - nw)
            w = inv(wh)
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"the run blew up before t = {(i + 1) * per * h:.4g}; reduce dt (now {dt})")
        ts.append((i + 1) * per * h)
        us.append(w[0].copy())
        vs.append(w[1].copy())
        if progress is not None:
            progress(i + 1, n_save)
    return Simulation(np.array(ts), np.array(us), np.array(vs), L, dim)


def noise_start(kin: Kinetics, n: int, amplitude: float, seed: int = 0, dim: int = 1,
                batch: tuple[int, ...] = ()) -> tuple[Array, Array]:
    """The steady state plus independent uniform noise in [−amplitude, amplitude] at every grid point."""
    rng = np.random.default_rng(seed)
    shape = (*batch, *([n] * dim))
    return (kin.steady_state[0] + amplitude * rng.uniform(-1, 1, shape),
            kin.steady_state[1] + amplitude * rng.uniform(-1, 1, shape))


def single_mode_growth(kin: Kinetics, Du: float, Dv: float, L: float, mode: int, n: int = 64, t_end: float = 10.0,
                       dt: float = 0.01, eps: float = 1e-7, method: str = "etd2") -> complex:
    """Measured growth rate of Fourier mode ``mode`` (k = 2π·mode/L) on a 1-D grid of n points.

    Starts at steady state + eps·Re(c e^{ikx}) with c the eigenvector of J − k²D of larger real
    part (numpy eig), runs the nonlinear simulator, and fits log(ŵ_mode(t)/ŵ_mode(0)) against t by
    least squares (phase unwrapped): the slope is the complex growth rate λ."""
    if not 0 < mode < n // 2:
        raise ValueError(f"mode must be in 1..{n // 2 - 1} for n = {n}; got {mode}")
    J = kin.jacobian()
    k = 2 * np.pi * mode / L
    vals, vecs = np.linalg.eig(J - k**2 * np.diag([Du, Dv]))
    c = vecs[:, int(np.argmax(vals.real))]
    c = c / c[np.argmax(np.abs(c))]
    x = np.arange(n) * L / n
    wave = np.exp(1j * k * x)
    u0 = kin.steady_state[0] + eps * np.real(c[0] * wave)
    v0 = kin.steady_state[1] + eps * np.real(c[1] * wave)
    sim = simulate(kin, Du, Dv, L, u0, v0, t_end, dt, n_save=40, method=method)
    coef = np.fft.fft(sim.u, axis=-1)[:, mode]
    z = coef / coef[0]
    re = np.polyfit(sim.t, np.log(np.abs(z)), 1)[0]
    im = np.polyfit(sim.t, np.unwrap(np.angle(z)), 1)[0]
    return complex(re, im)


def power_spectrum(field: Array, L: float, dim: int = 1) -> tuple[Array, Array]:
    """(k, P(k)) of field − mean over the last ``dim`` axes, averaged over leading axes; in 2-D the
    power summed over rings |k| ∈ [2π(m − ½)/L, 2π(m + ½)/L)."""
    field = np.asarray(field, dtype=float)
    if dim not in (1, 2) or field.ndim < dim:
        raise ValueError(f"need a field with at least {dim} axes (dim = 1 or 2); got shape {field.shape}")
    axes = tuple(range(-dim, 0))
    w = field - field.mean(axis=axes, keepdims=True)
    n = field.shape[-1]
    power = np.abs(np.fft.fftn(w, axes=axes)) ** 2 / n ** (2 * dim)
    power = power.reshape(-1, *power.shape[-dim:]).mean(axis=0)
    if dim == 1:
        m = np.arange(n // 2 + 1)
        p = power[: n // 2 + 1].copy()
        p[1:(n + 1) // 2] *= 2  # ±k together
        return 2 * np.pi * m / L, p
    kf = wavenumbers(n, L)
    kk = np.sqrt(kf[:, None] ** 2 + kf[None, :] ** 2)
    ring = np.rint(kk * L / (2 * np.pi)).astype(int)
    p = np.bincount(ring.ravel(), weights=power.ravel(), minlength=n // 2 + 1)[: n // 2 + 1]
    return 2 * np.pi * np.arange(n // 2 + 1) / L, p


def dominant_wavenumber(field: Array, L: float, dim: int = 1) -> float:
    """The k > 0 of largest power in ``power_spectrum`` (grid wavenumbers 2πm/L)."""
    k, p = power_spectrum(field, L, dim)
    if p[1:].max() <= 0:
        raise ValueError("the field is constant: it has no dominant wavenumber")
    return float(k[1 + int(np.argmax(p[1:]))])


def mode_growth_rates(field1: Array, t1: float, field2: Array, t2: float, L: float, dim: int = 1) -> tuple[Array, Array]:
    """(k, ½ log(P₂(k)/P₁(k))/(t₂ − t₁)): the growth rate of each wavenumber between two snapshots."""
    if not t2 > t1:
        raise ValueError(f"need t2 > t1; got t1 = {t1}, t2 = {t2}")
    k, p1 = power_spectrum(field1, L, dim)
    _, p2 = power_spectrum(field2, L, dim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return k, 0.5 * np.log(p2 / p1) / (t2 - t1)
