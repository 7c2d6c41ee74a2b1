# Appended after a use-case options file by benchmarks/bench_usecases.py:
#   k4run options/calo_pid_inference.py benchmarks/options/without_ml.py
# Removes the ML step (every MLInference) and the algorithms that consume its outputs, directly or not,
# so that the chain runs without the model: the cost of the ML step is the difference.
from k4mlinference.framework.component import CONFIGURED
from k4mlinference.inference.algorithm import MLInference

app = CONFIGURED.get("ApplicationMgr")
algs = list(app.TopAlg)
removed = [a for a in algs if isinstance(a, MLInference)]
lost = {n for a in removed for n in a.output_names()}
changed = True
while changed:  # consumers of lost collections are lost too
    changed = False
    for a in algs:
        if a not in removed and lost & set(a.input_names()):
            removed.append(a)
            lost |= set(a.output_names())
            changed = True
app.TopAlg = [a for a in algs if a not in removed]
print("without_ml.py: removed", ", ".join(a.name for a in removed) or "nothing")
