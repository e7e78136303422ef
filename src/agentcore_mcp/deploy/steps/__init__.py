"""One module per step. Each `apply` finds its resources by name (or tag), creates what is
missing, updates what changed and returns whether it wrote anything; `destroy` is the
inverse and is safe to run on a half-made deployment."""
