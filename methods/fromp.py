"""FROMP: Functional Regularisation Of the Memorable Past (Pan, Swaroop, Immer, Eschenhagen, Turner & Khan,
NeurIPS 2020), as adapted in van de Ven, Tuytelaars & Tolias (2022) (their models/cl/fromp_optimizer.py).

After each context, a few "memorable points" per class are kept: the training samples with the largest
lambda = trace of the Hessian of the loss with respect to the network output, sum_k p_k (1 - p_k) for a softmax.
At the start of the next context, for every past context t (separately, as the paper's code with per_context=True),
the model's softmax outputs f_old on t's memorable points are stored, with per output unit k the kernel
    K_k = J_k Sigma J_k^T + eps I,     J_k = d softmax_k / d theta  (one row per memorable point),
where Sigma = 1 / (Fisher + prior_prec) is a diagonal covariance: the Fisher is the diagonal generalised
Gauss-Newton matrix (Jacobian of the logits, full softmax Hessian), summed over the training data of all contexts so
far. Its inverse is computed once (Cholesky). While training, the loss gets
    tau * 0.5 * sum_t sum_k (f_k(M_t) - f_old,k(M_t))^T K_k^-1 (f_k(M_t) - f_old,k(M_t)),
evaluated each iteration on a random subset of ceil(batch / #past contexts) memorable points per past context, with
the matching sub-matrix of K_k^-1 (as the paper's code). Its gradient, tau * J_k^T K_k^-1 (f - f_old), is exactly
the term the paper's optimizer adds; the total gradient is then clipped to norm 1 (grad_clip_norm) before Adam.

The output units used (the "label set") follow the paper's code: in Task-IL (and Class-IL with --active-classes
current) context t's own head; otherwise the units active in the current context (all units, or all so far).
Like the paper's code, only the fully connected (nn.Linear) layers enter the kernel and the Fisher.
"""
import math

import torch
import torch.nn.functional as F

from methods.buffer import samples_per_class
from methods.component import Component, unpublished_note
from utils.errors import UsageError
from utils.nn import eval_mode, linear_layers, record_linear

PRIOR_PREC = 1e-3      # prior precision added to the Fisher (opt_fromp default)
KERNEL_EPS = 1e-6      # jitter on the kernel's diagonal before its Cholesky decomposition
GRAD_CLIP_NORM = 1.0   # the total gradient is clipped to this norm (opt_fromp default)
CHUNK = 1024           # samples per forward pass when scoring / computing the Fisher
MAX_ELEMENTS = 1 << 22  # bound on intermediate tensor size in the kernel computation


def memorable_lambda(probs):
    """Trace of the softmax Hessian (diagonal p (1 - p), summed over units): the memorability score."""
    return (probs * (1 - probs)).sum(-1)


def _output_grads(outputs, record, layers):
    """For each column k of `outputs` [n, C]: per layer, d outputs[:, k] / d (layer output), shape [C, n, out]."""
    zs = [record[layer][1] for layer in layers]
    per_k = []
    for k in range(outputs.shape[1]):
        grads = torch.autograd.grad(outputs[:, k].sum(), zs, retain_graph=True, allow_unused=True)
        per_k.append([torch.zeros_like(z) if g is None else g for g, z in zip(grads, zs)])
    return [torch.stack([per_k[k][i] for k in range(len(per_k))]) for i in range(len(layers))]


def fisher_update(model, x, context, units, fisher):
    """Add to `fisher` (list, per nn.Linear, of [weight, bias or None] tensors) the diagonal GGN of the samples `x`:
    sum_i diag(J_i^T H_i J_i), J_i the Jacobian of the active logits, H_i = diag(s) - s s^T (softmax Hessian)."""
    layers = linear_layers(model)
    with eval_mode(model), torch.enable_grad():
        for start in range(0, x.shape[0], CHUNK):
            xb = x[start:start + CHUNK]
            ctx = context if isinstance(context, int) else context[start:start + CHUNK]
            with record_linear(model) as record:
                logits = model(xb, ctx)[:, units]
            s = F.softmax(logits, dim=-1).detach()
            grads = _output_grads(logits, record, layers)      # per layer [C, n, out]
            for (fw, fb), layer, g in zip(fisher, layers, grads):
                a = record[layer][0].detach()
                sg = torch.einsum("ni,inj->nj", s, g)
                q = torch.einsum("ni,inj->nj", s, g * g) - sg * sg  # g^T H g per sample and unit: [n, out]
                fw.add_(q.t() @ (a * a))
                if fb is not None:
                    fb.add_(q.sum(0))
    return fisher


def fromp_kernel(model, x, context, units, covariance):
    """Softmax outputs `probs` [n, C] on the active `units` and the kernels K [C, n, n],
    K[k] = J_k diag(covariance) J_k^T, J_k the Jacobian of probs[:, k] wrt the nn.Linear parameters.

    Uses the layer structure (d probs_k / d W[j, l] = g_k[j] a[l] per sample) without forming the Jacobians:
    K[k][i, p] = sum_j g_ki[j] g_kp[j] (cov_b[j] + sum_l cov_W[j, l] a_i[l] a_p[l]); the a-part is shared by all k.
    """
    layers = linear_layers(model)
    with eval_mode(model), torch.enable_grad():
        with record_linear(model) as record:
            logits = model(x, context)
        probs = F.softmax(logits[:, units], dim=-1)
        grads = _output_grads(probs, record, layers)
    n, n_units = probs.shape
    kernel = torch.zeros(n_units, n, n, dtype=probs.dtype, device=probs.device)
    for layer, g, (cov_w, cov_b) in zip(layers, grads, covariance):
        a = record[layer][0].detach()
        g = g.detach()
        if cov_b is not None:
            kernel += torch.matmul(g * cov_b, g.transpose(1, 2))
        n_out, n_in = cov_w.shape
        step = max(1, MAX_ELEMENTS // (n * max(n_in, n * n_units)))
        for j in range(0, n_out, step):
            m = torch.matmul(a.unsqueeze(0) * cov_w[j:j + step].unsqueeze(1), a.t())   # [step, n, n]
            gj = g[:, :, j:j + step]                                                    # [C, n, step]
            kernel += torch.einsum("kij,kpj,jip->kip", gj, gj, m)
    return probs.detach(), kernel


def inverse_kernel(kernel, eps=KERNEL_EPS):
    """(K + eps I)^-1 per output unit via Cholesky (computed in float64 for stability)."""
    k = kernel.double()
    k = 0.5 * (k + k.transpose(-1, -2)) + eps * torch.eye(k.shape[-1], dtype=k.dtype, device=k.device)
    return torch.cholesky_inverse(torch.linalg.cholesky(k)).to(kernel.dtype)


def select_memorable(probs, labels, n):
    """Indices of the `n` samples with the largest lambda for each class in `labels`, per class (sorted, best first)."""
    scores = memorable_lambda(probs)
    chosen = {}
    for label in labels.unique().tolist():
        index = (labels == label).nonzero().squeeze(1)
        order = scores[index].argsort(descending=True)[:n]
        chosen[label] = index[order]
    return chosen


# --tau: the paper's chosen values; any other benchmark has no published value and takes 1, as the paper's others
TAU = {"splitMNIST": {"task": 0.01, "domain": 10.0, "class": 1000.0}, "permMNIST": {}, "CIFAR100": {}}
TAU_FALLBACK = 1.0

class FROMP(Component):
    excludes = {"LwF": "", "AGEM": "", "ER": "", "GenerativeReplay": "", "BrainInspired": "",
                "ParamReg": "parameter regularisation", "Joint": "", "Cumulative": ""}
    # methods.common.MemoryOptions: FROMP's memorable points are --budget per class (cut as --use-full-capacity
    # says), chosen by --sample-selection=fromp (default) or random
    common_options = ("budget", "use_full_capacity", "sample_selection")

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("FROMP (functional regularisation of the memorable past)")
        g.add_argument("--fromp", action="store_true", help="use FROMP (memorable points: --budget per class)")
        g.add_argument("--tau", type=float, help="FROMP regularisation strength (default: splitMNIST task/domain/"
                                                 "class 0.01 / 10 / 1000, otherwise 1)")

    @staticmethod
    def expand(args):
        if args.fromp and args.sample_selection is None:
            args.sample_selection = "fromp"  # memorable points (lambda); --sample-selection=random is the ablation

    @staticmethod
    def describe(args):
        return "--fromp"

    @staticmethod
    def set_defaults(args):
        if args.tau is None:
            args.tau = TAU.get(args.experiment, {}).get(args.scenario, TAU_FALLBACK)

    @staticmethod
    def unpublished(args):
        return unpublished_note(args, TAU, ["tau"], f"{TAU_FALLBACK:g} (the paper's value on its other benchmarks)")

    @staticmethod
    def enabled(args):
        return args.fromp

    @staticmethod
    def validate(args):
        if not args.fromp:
            return
        if args.tau < 0:
            raise UsageError("--tau must be at least 0")
        if args.optimizer == "sgd":
            raise UsageError("--fromp is only supported with the Adam optimizer (not --optimizer=sgd)")
        if args.sample_selection not in ("fromp", "random"):
            raise UsageError("--fromp selects its memorable points with --sample-selection=fromp or random")

    @staticmethod
    def stamp(args):
        fc = "-FC" if args.use_full_capacity else ""
        return (f"fromp{args.tau:g}-b{args.budget}{fc}"
                f"{args.sample_selection}")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.budget = args.budget
        self.full_capacity = args.use_full_capacity
        self.selection = args.sample_selection
        self.memory = []    # per context: list (per class) of preprocessed memorable inputs, best first
        self.fisher = None  # per nn.Linear: [weight, bias] diagonal GGN summed over all contexts so far
        self.past = []      # per past context: (context, inputs, active units, f_old [n, C], K^-1 [C, n, n])

    # ---- after each context: memorable points and Fisher (as in the paper's code, not after the last one) ----
    def _context_inputs(self, context, dataset):
        if dataset.context is None:
            dataset = dataset.subset((dataset.contexts == context).nonzero().squeeze(1))
        x = self.learner.experiment.preprocess(dataset.images, context)
        return x, dataset.labels

    @torch.no_grad()
    def _probs(self, x, context, units):
        model = self.learner.model
        with eval_mode(model):
            return torch.cat([F.softmax(model(x[i:i + CHUNK], context)[:, units], dim=-1)
                              for i in range(0, x.shape[0], CHUNK)])

    def after_context(self, context, dataset):
        scenario = self.learner.scenario
        if scenario.is_last(context):
            return
        model = self.learner.model
        x, labels = self._context_inputs(context, dataset)
        units = scenario.active_units(context, context)
        n = samples_per_class(self.budget, scenario.n_contexts, context, self.full_capacity)
        self.memory = [[m[:n] for m in classes] for classes in self.memory]
        if self.selection == "fromp":
            chosen = select_memorable(self._probs(x, context, units), labels, n)
        else:
            chosen = {label: (labels == label).nonzero().squeeze(1) for label in labels.unique().tolist()}
            chosen = {k: v[torch.randperm(len(v), device=v.device)[:n]] for k, v in chosen.items()}
        self.memory.append([x[chosen[k]] for k in sorted(chosen)])
        if self.fisher is None:
            self.fisher = [[torch.zeros_like(layer.weight),
                            None if layer.bias is None else torch.zeros_like(layer.bias)]
                           for layer in linear_layers(model)]
        fisher_update(model, x, context, units, self.fisher)

    # ---- start of each later context: function values and inverse kernels of all past contexts ----
    def before_context(self, context, dataset):
        self.past = []
        if not self.memory:
            return
        scenario = self.learner.scenario
        covariance = [(1.0 / (fw + PRIOR_PREC), None if fb is None else 1.0 / (fb + PRIOR_PREC))
                      for fw, fb in self.fisher]
        for t, classes in enumerate(self.memory):
            x = torch.cat(classes)
            units = scenario.active_units(t, context)
            probs, kernel = fromp_kernel(self.learner.model, x, t, units, covariance)
            self.past.append((t, x, units, probs, inverse_kernel(kernel)))

    def regulariser(self, subsets=None):
        """tau * 0.5 * sum_t sum_k d^T K_k^-1 d on the memorable points (`subsets`: per past context an index
        tensor, or None for all points)."""
        model = self.learner.model
        subsets = subsets if subsets is not None else [None] * len(self.past)
        xs, ctxs = [], []
        for (t, x, _, _, _), index in zip(self.past, subsets):
            xs.append(x if index is None else x[index])
            ctxs.append(torch.full((xs[-1].shape[0],), t, dtype=torch.long, device=x.device))
        with eval_mode(model):
            logits = model(torch.cat(xs), torch.cat(ctxs))
        total, start = 0.0, 0
        for (t, x, units, old, kinv), index, xt in zip(self.past, subsets, xs):
            probs = F.softmax(logits[start:start + xt.shape[0], units], dim=-1)
            start += xt.shape[0]
            if index is not None:
                old, kinv = old[index], kinv[:, index][:, :, index]
            d = probs - old
            total = total + torch.einsum("ik,kij,jk->", d, kinv, d)
        return 0.5 * self.args.tau * total

    def losses(self, batch, scores, replayed, context):
        if not self.past:
            return {}
        per_context = math.ceil(batch.y.shape[0] / len(self.past))
        subsets = []
        for _, x, _, _, _ in self.past:
            n = x.shape[0]
            subsets.append(None if per_context >= n else torch.randperm(n, device=x.device)[:per_context])
        return {"fromp": self.regulariser(subsets)}

    def before_step(self, context):
        grads = [p.grad for p in self.learner.model.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        scale = torch.clamp(GRAD_CLIP_NORM / norm, max=1.0)
        for g in grads:
            g.mul_(scale)
