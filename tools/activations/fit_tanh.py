#!/usr/bin/env python3
"""Fits the rational tanh the runtime uses: tanh(x) ~ x * P(x^2) / Q(x^2), P and Q of degree 4, Q(0) = 1.

Why a rational form: tanh through e^2x needs the exponential's range reduction, a degree-6 polynomial and a scaling
before its division, about 60 cycles of dependent latency per vector; the rational form needs two short polynomials in
x^2 (evaluated side by side) and one division, about half that. At small hidden sizes a recurrent step is that chain.

Method: the relative error of P/Q against tanh(x)/x is minimised on [0, LIMIT] (t = x^2) by Lawson-weighted linear least
squares on P - f Q (Loeb's linearisation, reweighted by the current error until it levels out). From LIMIT on, tanh
rounds to 1 in float32; the fitted form passes 1 there and keeps growing, and the runtime clamps its result to 1. Prints the coefficients as float literals
and the error in exact arithmetic; the float32 error of the runtime's evaluation order is tested in ActivationTests.
Needs numpy (Debian: python3-numpy). Run: python3 tools/activations/fit_tanh.py
"""
import numpy as np

LIMIT = 9.1
DEGREE = 4

x = np.concatenate([LIMIT * (1 - np.cos(np.linspace(0, np.pi / 2, 40001)))[1:], np.linspace(1e-4, LIMIT, 40000)])
x.sort()
t = x * x
f = np.tanh(x) / x
powers = np.vander(t, DEGREE + 1, increasing=True)
q = np.ones_like(t)
weights = np.ones_like(t)
best = None
for _ in range(200):
    system = np.hstack([powers, -f[:, None] * powers[:, 1:]])
    scale = np.sqrt(weights) / (f * q)
    solution, *_ = np.linalg.lstsq(system * scale[:, None], f * scale, rcond=None)
    p_coefficients = solution[:DEGREE + 1]
    q_coefficients = np.concatenate([[1.0], solution[DEGREE + 1:]])
    q = np.polyval(q_coefficients[::-1], t)
    error = (np.polyval(p_coefficients[::-1], t) / q - f) / f
    worst = np.abs(error).max()
    if best is None or worst < best[0]:
        best = (worst, p_coefficients, q_coefficients)
    weights = weights * np.abs(error)
    weights /= weights.mean()

worst, p_coefficients, q_coefficients = best
print(f"max relative error on [0, {LIMIT}] in exact arithmetic: {worst:.3g}")
for name, values in (("P", p_coefficients), ("Q", q_coefficients)):
    for k, value in enumerate(values):
        print(f"{name}{k} = {str(np.float32(value))}f")
