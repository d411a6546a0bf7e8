"""Sweeps of ./main.py and ./main_task_free.py runs (methods x seeds x hyper-parameter values). The sweep scripts
(compare*.py) only declare one of the kinds below as SWEEP and run it. Split by concern:
    script     what a sweep script is; the output tail            catalogue  the paper's methods and grids, by name
    compare    kind: methods over seeds                           grid       kind: hyper-parameter grids
    budgets    kind: methods over memory budgets                  plan       command line -> runs (Jobs)
    fisher_study  kind: grids read out together (compare_FI.py)
    execute    running them: here, in a process pool, on Ray      summary    statistics and table files
    plots      the pdf pages                                      cost       what runs cost before they run
    preview    --plan                                             progress   the sweep's progress bar
    stored     reusable results and claims on them                published  the paper's figures, protocol, choices
    paper      the paper's protocol and the verdict               reproduction  ./report.py's tables and pdf
    curves     kind: continual-evaluation curves
"""
from sweep.catalogue import (DROP_HELP, PAPER_METHODS, SCENARIOS, TASK_FREE_METHODS, Grid, Method,  # noqa: F401
                             applies, method)
from sweep.execute import DEFAULT_THREADS, execute, report_failures, run_all, run_one  # noqa: F401
from sweep.preview import Planned  # noqa: F401
from sweep.plan import (Job, Setup, number_list, check_methods, check_owned, cost_of, make_jobs,  # noqa: F401
                        method_jobs, method_tokens, owned_tokens, setup, try_parse)
from sweep.plots import new_figure, pdf_pages, save_page  # noqa: F401
from sweep.summary import accuracies, mean_sem, so_far_curve, summary_name, title_of, write_table  # noqa: F401
from utils.errors import UsageError, run_cli  # noqa: F401
