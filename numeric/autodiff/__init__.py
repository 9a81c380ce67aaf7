"""Networks from scratch: a reverse-mode autodiff ``Tensor`` (double backward for exact Hessian-vector
products), small networks and their losses, the Hessian as a linear operator, loss-landscape slices and the
seeded data sets they train on.

- :mod:`numeric.autodiff.tensor`: ``Tensor`` and ``Parameter``;
- :mod:`numeric.autodiff.nn`: ``MLP``, losses, flat-vector ``loss_fn`` (f, grad, hvp) and hand-written backprop;
- :mod:`numeric.autodiff.hessian`: top eigenpairs (Lanczos, power iteration), condition number, SLQ density;
- :mod:`numeric.autodiff.landscape`: filter-normalized directions, 1-D/2-D slices, projected trajectories;
- :mod:`numeric.autodiff.datasets`: XOR, two moons, spirals, teacher-student, linear/logistic regression.
"""
