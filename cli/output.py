"""What ./main.py and ./main_task_free.py print after a run: the accuracy table, device and threads, times, and
where the results went."""

from eval.metrics import format_table
from train.record import plot_path, results_path
from utils.errors import OutputError


def print_result(args, result, phases="after each training phase"):
    print(format_table(result["accuracy_matrix"], result).replace("after each training phase", phases))
    print(f"=> device: {result['device']}, {result['threads']} torch thread(s)")
    seconds = result["seconds"]
    if args.train:
        print(f"=> training time: {seconds['train']:.1f} s (total {seconds['total']:.1f} s)")
    elif args.time:
        print(f"=> total time: {seconds['total']:.1f} s (no training with --test)")
    if result.get("results_saved", True):
        print(f"=> results: {results_path(args, result['stamp'])}")
    if args.pdf and result.get("report_saved", True):
        print(f"=> report: {plot_path(args, result['stamp'])}")


def check_outputs_written(args, result):
    """After the table: the side outputs that failed (train.record.add_error) end the program with one line (exit
    code 1) that says where the results are."""
    problems = result.get("output_errors")
    if problems:
        where = f"; the results are in {results_path(args, result['stamp'])}" if result.get("results_saved", True) \
            else ""
        raise OutputError("; ".join(problems) + where)
