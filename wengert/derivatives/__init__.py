"""Numerical differentiation and the gradient check."""
