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
