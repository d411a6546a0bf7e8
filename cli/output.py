"""What ./main.py and ./main_task_free.py print after a run: the accuracy table, device and threads, times, and
where the results went."""

from eval.metrics import format_table
from train.record import plot_path, results_path


def print_result(args, result, phases="after each training phase"):
    print(format_table(result["accuracy_matrix"], result).replace("after each training phase", phases))
    print(f"=> device: {result['device']}, {result['threads']} torch thread(s)")
    seconds = result["seconds"]
    if args.train:
        print(f"=> training time: {seconds['train']:.1f} s (total {seconds['total']:.1f} s)")
    elif args.time:
        print(f"=> total time: {seconds['total']:.1f} s (no training with --test)")
    print(f"=> results: {results_path(args, result['stamp'])}")
    if args.pdf:
        print(f"=> report: {plot_path(args, result['stamp'])}")
