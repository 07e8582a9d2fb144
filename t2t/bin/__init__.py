"""The `t2t-*` commands. This package is the only place that defines or reads flags."""
