"""k4mlinference shim of the `Gaudi` package, active only inside k4mlinference's k4run."""

K4ML_SHIM = True
