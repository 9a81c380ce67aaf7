"""Theories of learning derived and checked: Hamiltonian mechanics and the Hermosis theory (with its
audit), the covariant metric, phase transitions, Turing instability, closed-loop learning, grokking."""
