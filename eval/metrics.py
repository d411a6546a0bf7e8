"""Summaries of the accuracy matrix R, where R[i][j] is the accuracy on context j after training phase i."""
import numpy as np


def summarise(matrix):
    R = np.asarray(matrix, dtype=float)
    final = R[-1]
    out = {"average_accuracy": float(final.mean()), "per_context": final.tolist()}
    n = R.shape[1]
    if R.shape[0] == n and n > 1:
        # forgetting: best accuracy a context ever had (after it was learned) minus its final accuracy
        out["forgetting"] = float(np.mean([R[j:n - 1, j].max() - final[j] for j in range(n - 1)]))
        # backward transfer: final accuracy minus accuracy just after the context was learned
        out["backward_transfer"] = float(np.mean([final[j] - R[j, j] for j in range(n - 1)]))
    return out


def format_table(matrix, summary):
    R = np.asarray(matrix, dtype=float)
    n = R.shape[1]
    lines = ["accuracy (%) on each context's test set, after each training phase:",
             "after   " + " ".join(f"{'C' + str(j + 1):>6}" for j in range(n))]
    for i, row in enumerate(R):
        lines.append(f"{i + 1:<7} " + " ".join(f"{100 * a:6.2f}" for a in row))
    lines.append(f"=> average accuracy over all {n} contexts: {100 * summary['average_accuracy']:.2f}")
    if "forgetting" in summary:
        lines.append(f"=> average forgetting: {100 * summary['forgetting']:.2f}, "
                     f"backward transfer: {100 * summary['backward_transfer']:.2f}")
    return "\n".join(lines)


def stability_gap(iterations, accuracy, switches, within=0.01):
    """The stability gap (De Lange et al., ICLR 2023) of a continual-evaluation curve: for each switch to a new
    context and each earlier context measured around it, the accuracy just before the switch, the lowest one until
    the next switch, how far it fell, and how many iterations after the switch it first came back to within
    `within` (1 point) of the value before the switch after its lowest point (None: not within that phase).

    iterations: the iterations of the points; accuracy: one row per point, an accuracy or None per context;
    switches: the iterations done when each context after the first started."""
    t = np.asarray(iterations)
    ends = list(switches[1:]) + [int(t[-1]) if len(t) else 0]
    out = []
    for k, (switch, end) in enumerate(zip(switches, ends)):
        before = np.nonzero(t <= switch)[0]
        after = np.nonzero((t > switch) & (t <= end))[0]
        if not len(before) or not len(after):
            continue
        for j in range(k + 1):  # the contexts before the switch (context k + 2 starts at it)
            pre = accuracy[before[-1]][j]
            curve = [accuracy[i][j] for i in after]
            if pre is None or any(a is None for a in curve):
                continue
            low = int(np.argmin(curve))
            back = next((i for i in range(low, len(curve)) if curve[i] >= pre - within), None)
            out.append({"switch": int(switch), "context": j + 1, "before": pre, "minimum": curve[low],
                        "depth": pre - curve[low], "minimum_at": int(t[after[low]] - switch),
                        "recovered_after": None if back is None else int(t[after[back]] - switch)})
    return out
