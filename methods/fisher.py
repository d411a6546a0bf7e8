"""Fisher Information of a classifier's parameters, estimated on one context's data.

Diagonal Fisher (EWC; Kirkpatrick et al. 2017): F_i = 1/N sum_n sum_y w(n, y) (d/dtheta_i log p(y | x_n))^2, with the
label(s) y and weights w chosen by --fisher-labels:
    all     every label, weighted by its predicted probability (the exact expectation; the paper's default)
    sample  one label drawn from the predicted distribution (weight 1)
    pred    the predicted label (weight 1)
    true    the true label, mapped like the training targets ("empirical Fisher"; weight 1)
Only the active output units of the context enter p(y | x). The model is in eval mode.

`diagonal_fisher` is vectorised: linear layers from the outer-product structure of their per-sample gradients
(one batched backward pass per label), other parameters from per-sample gradients by torch.func (functional_call +
vmap(grad)) in chunks so memory stays bounded; `diagonal_fisher_loop` is the one-sample-at-a-time definition (the paper's code),
kept as the reference for tests and the benchmark.

KFAC Fisher (Ritter et al. 2018; Martens & Grosse 2015) for every fully connected layer (nn.Linear, including the
output layer): F ~ G (x) A with A = E[abar abar^T] (abar = layer input with a 1 appended for the bias) and
G = E[sum_y w(y) g_y g_y^T] (g_y = gradient of -log p(y|x) w.r.t. the layer's output). Samples are independent in
eval mode, so one batched backward pass per label gives every sample's g.
"""
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

from utils.nn import eval_mode, linear_layers, record_linear

LABEL_CHOICES = ("all", "sample", "pred", "true")
MEMORY_BUDGET = 2 ** 25  # floats held by one chunk of per-sample gradients (128 MB in float32)


def choose_labels(probs, mode, targets=None, uniforms=None):
    """Labels [B, L] and weights [B, L] for the Fisher, given predicted probabilities [B, K] over active units.

    'sample' draws by inverse CDF from `uniforms` [B] (so the vectorised and the looped estimate draw the same)."""
    b, k = probs.shape
    if mode == "all":
        return torch.arange(k, device=probs.device).expand(b, k), probs
    if mode == "sample":
        labels = torch.searchsorted(probs.cumsum(1), uniforms.view(b, 1).to(probs.dtype)).clamp_(max=k - 1)
    elif mode == "pred":
        labels = probs.argmax(1, keepdim=True)
    elif mode == "true":
        labels = targets.view(b, 1)
    else:
        raise ValueError(f"unknown Fisher labels {mode!r}")
    return labels, torch.ones(b, 1, device=probs.device, dtype=probs.dtype)


def trainable(model):
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def _context_at(context, index):
    return context if isinstance(context, int) else context[index]


@torch.no_grad()
def _probs(model, x, context, units):
    return F.softmax(model(x, context)[:, units], dim=1)


def diagonal_fisher(model, x, context, units, mode="all", targets=None, uniforms=None, batch=1,
                    budget=MEMORY_BUDGET, vmap_only=False):
    """Sum (not mean) over the samples in x of the squared-gradient terms, vectorised. Returns {name: tensor}.

    context: int or LongTensor [B]; units: slice of active output units; batch: --fisher-batch (samples whose mean
    loss gives one gradient; only for 'pred' / 'true').
    Every parameter of an nn.Linear layer uses that a sample's gradient for label y is the outer product
    d_y a^T (d_y: gradient w.r.t. the layer's output, a: its input), so sum_y w_y (d_y a^T)^2 = (sum_y w_y d_y^2) (a^2)^T:
    one batched backward pass per label to the layers' outputs and one matrix product per layer, with no per-sample
    gradient ever stored. The remaining parameters (convolutions, batch-norm) get per-sample gradients from
    torch.func (functional_call + vmap(grad)); vmap_only=True uses that path for every parameter."""
    params = trainable(model)
    if batch > 1:
        return _batched_fisher(model, {n: p.detach() for n, p in params.items()}, dict(model.named_buffers()), x,
                               context, units, mode, targets, batch,
                               {n: torch.zeros_like(p) for n, p in params.items()})
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    layers = [] if vmap_only else [m for m in linear_layers(model)
                                   if m.weight.requires_grad and (m.bias is None or m.bias.requires_grad)]
    names = {id(p): n for n, p in params.items()}
    done = set()
    if layers:
        _linear_fisher(model, x, context, units, mode, targets, uniforms, layers, names, total)
        done = {names[id(p)] for m in layers for p in m.parameters(recurse=False)}
    rest = [n for n in params if n not in done]
    if rest:
        _vmap_fisher(model, x, context, units, mode, targets, uniforms, rest, total, budget)
    return total


def _linear_fisher(model, x, context, units, mode, targets, uniforms, layers, names, total):
    with record_linear(model, layers) as record, torch.enable_grad():
        scores = model(x, context)
    logp = F.log_softmax(scores[:, units], dim=1)
    labels, weights = choose_labels(logp.detach().exp(), mode, targets, uniforms)
    used = [m for m in layers if m in record]  # layers of e.g. another context's sub-network get no Fisher
    outputs = [record[m][1] for m in used]
    squares = [torch.zeros_like(o).flatten(1) for o in outputs]
    for j in range(labels.shape[1]):
        loss = -(weights[:, j].sqrt() * logp.gather(1, labels[:, j:j + 1]).squeeze(1)).sum()
        grads = torch.autograd.grad(loss, outputs, retain_graph=j + 1 < labels.shape[1], allow_unused=True)
        for sq, g in zip(squares, grads):
            if g is not None:
                sq.addcmul_(g.flatten(1), g.flatten(1))
    for m, sq in zip(used, squares):
        a = record[m][0].detach().flatten(1)
        total[names[id(m.weight)]] += sq.T @ a.square()
        if m.bias is not None:
            total[names[id(m.bias)]] += sq.sum(0)


def _vmap_fisher(model, x, context, units, mode, targets, uniforms, names, total, budget):
    """Per-sample (and per-label) gradients of the parameters `names` with torch.func, in bounded chunks."""
    params = {n: p.detach() for n, p in trainable(model).items()}
    free = {n: params[n] for n in names}
    fixed = {n: p for n, p in params.items() if n not in free}
    buffers = dict(model.named_buffers())
    per_context = not isinstance(context, int)

    def nll(p, xi, ci, yi, wi):
        out = functional_call(model, ({**fixed, **p}, buffers), (xi.unsqueeze(0), ci.view(1) if per_context else ci))
        return -wi.sqrt() * F.log_softmax(out[0, units], dim=0).gather(0, yi.view(1)).squeeze(0)

    per_label = vmap(grad(nll), in_dims=(None, None, None, 0, 0))
    per_sample = vmap(per_label, in_dims=(None, 0, 0 if per_context else None, 0, 0))
    n_labels = (units.stop - units.start) if mode == "all" else 1
    chunk = max(1, budget // (n_labels * sum(p.numel() for p in free.values())))
    for start in range(0, x.shape[0], chunk):
        sl = slice(start, start + chunk)
        ctx = context[sl] if per_context else context
        labels, weights = choose_labels(_probs(model, x[sl], ctx, units), mode,
                                        None if targets is None else targets[sl],
                                        None if uniforms is None else uniforms[sl])
        grads = per_sample(free, x[sl], ctx, labels, weights)
        for name, g in grads.items():
            total[name] += g.square().sum((0, 1))


def _batched_fisher(model, params, buffers, x, context, units, mode, targets, batch, total):
    """--fisher-batch > 1: the squared gradient of the mean loss of each group of `batch` samples (as the paper's
    code with a larger data-loader batch); a last incomplete group is dropped."""
    if mode not in ("pred", "true"):
        raise ValueError("--fisher-batch > 1 needs --fisher-labels pred or true")
    groups = x.shape[0] // batch
    per_context = not isinstance(context, int)

    def loss(p, xg, cg, yg):
        out = functional_call(model, (p, buffers), (xg, cg))[:, units]
        return F.cross_entropy(out, yg)

    per_group = vmap(grad(loss), in_dims=(None, 0, 0 if per_context else None, 0))
    xs = x[:groups * batch]
    ctx = context[:groups * batch] if per_context else context
    probs = _probs(model, xs, ctx, units)
    labels, _ = choose_labels(probs, mode, None if targets is None else targets[:groups * batch])
    shape = (groups, batch)
    grads = per_group(params, xs.view(*shape, *xs.shape[1:]), ctx.view(shape) if per_context else ctx,
                      labels.view(shape))
    for name, g in grads.items():
        total[name] += g.square().sum(0)
    return total


def diagonal_fisher_loop(model, x, context, units, mode="all", targets=None, uniforms=None):
    """Reference: the same sum computed one sample and one label at a time with ordinary backward passes."""
    params = trainable(model)
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(x.shape[0]):
        ci = context if isinstance(context, int) else context[i:i + 1]
        out = model(x[i:i + 1], ci)[:, units]
        probs = F.softmax(out, dim=1).detach()
        labels, weights = choose_labels(probs, mode, None if targets is None else targets[i:i + 1],
                                        None if uniforms is None else uniforms[i:i + 1])
        for j in range(labels.shape[1]):
            model.zero_grad()
            F.cross_entropy(out, labels[:, j]).backward(retain_graph=True)
            for n, p in params.items():
                if p.grad is not None:
                    total[n] += weights[0, j] * p.grad.detach() ** 2
    model.zero_grad()
    return total


def _inputs(record, m):
    """The recorded input of linear layer `m` (detached, flattened), with a 1 appended for its bias."""
    a = record[m][0].detach().flatten(1)
    return torch.cat([a, a.new_ones(a.shape[0], 1)], 1) if m.bias is not None else a


def kfac_factors(model, x, context, units, mode="all", targets=None, uniforms=None):
    """Sums (not means) over the samples of the Kronecker factors of each linear layer: list of {'A', 'G'}."""
    layers = linear_layers(model)
    with record_linear(model, layers) as record, torch.enable_grad():
        out = model(x, context)[:, units]
    logp = F.log_softmax(out, dim=1)
    labels, weights = choose_labels(logp.detach().exp(), mode, targets, uniforms)
    used = [i for i, m in enumerate(layers) if m in record]
    outputs = [record[layers[i]][1] for i in used]
    factors = []
    for m in layers:
        a_dim = m.in_features + (m.bias is not None)
        if m in record:
            a = _inputs(record, m)
            a_sum = a.T @ a
        else:  # not used for this input: no information
            a_sum = out.new_zeros(a_dim, a_dim)
        factors.append({"A": a_sum, "G": out.new_zeros(m.out_features, m.out_features)})
    for j in range(labels.shape[1]):
        loss = -(weights[:, j].sqrt() * logp.gather(1, labels[:, j:j + 1]).squeeze(1)).sum()
        grads = torch.autograd.grad(loss, outputs, retain_graph=j + 1 < labels.shape[1], allow_unused=True)
        for i, g in zip(used, grads):
            if g is not None:
                g = g.flatten(1)
                factors[i]["G"] += g.T @ g
    return factors


def input_covariances(model, x, context):
    """OWM: sums over the samples of abar abar^T for every linear layer's input."""
    layers = linear_layers(model)
    with record_linear(model, layers) as record, torch.no_grad():
        model(x, context)
    result = []
    for m in layers:
        if m not in record:
            a_dim = m.in_features + (m.bias is not None)
            result.append(m.weight.new_zeros(a_dim, a_dim))
            continue
        a = _inputs(record, m)
        result.append(a.T @ a)
    return result


def nearest_kf_sum(b, c):
    """Kronecker-factored approximation of (B_G (x) B_A) + (C_G (x) C_A), as in the paper's code (models/utils/ncl.py).

    b, c: {'A', 'G'}; returns {'A', 'G'}. If a trace is not positive, the other term is returned unchanged."""
    tr_ba, tr_bg, tr_ca, tr_cg = (torch.trace(b["A"]), torch.trace(b["G"]), torch.trace(c["A"]), torch.trace(c["G"]))
    if min(tr_ba, tr_bg) <= 0:
        return {"A": c["A"], "G": c["G"]}
    if min(tr_ca, tr_cg) <= 0:
        return {"A": b["A"], "G": b["G"]}
    pi = torch.sqrt(tr_bg * tr_ca) / torch.sqrt(tr_cg * tr_ba)
    return {"A": b["A"] + c["A"] / pi, "G": b["G"] + c["G"] * pi}


def sample_index(n, fisher_n, device):
    """Which samples of the context enter the Fisher: all, or a random --fisher-n of them."""
    if fisher_n is None or fisher_n >= n:
        return torch.arange(n, device=device)
    return torch.randperm(n, device=device)[:fisher_n]


def estimate(learner, dataset, context, kind="diag", labels="all", n=None, batch=1, chunk=1024):
    """The Fisher of the model on `dataset` for `context`, averaged over the samples used.

    kind: 'diag' -> {name: tensor}; 'kfac' -> list of {'A', 'G'} per linear layer; 'owm' -> list of A per layer.
    labels: which labels (LABEL_CHOICES); n: how many samples (None: all); batch: samples per gradient."""
    model, scenario = learner.model, learner.scenario
    with eval_mode(model):
        units = scenario.active_units(context, upto=context)
        index = sample_index(len(dataset), n, dataset.device)
        uniforms = torch.rand(index.shape[0], device=dataset.device) if labels == "sample" else None
        total, count = None, 0
        step = chunk if batch <= 1 else max(batch, chunk // batch * batch)
        for start in range(0, index.shape[0], step):
            sl = slice(start, start + step)
            b = learner.batch(dataset, index[sl])
            targets = None
            if labels == "true":
                with torch.no_grad():
                    scores = model(b.x, b.context)
                _, targets = scenario.select(scores, b.y, b.context, context)
            u = None if uniforms is None else uniforms[sl]
            if kind == "diag":
                part = diagonal_fisher(model, b.x, b.context, units, labels, targets, u, batch=batch)
                count += b.x.shape[0] // max(batch, 1)
                total = part if total is None else {k: total[k] + part[k] for k in total}
            elif kind == "kfac":
                part = kfac_factors(model, b.x, b.context, units, labels, targets, u)
                count += b.x.shape[0]
                total = part if total is None else [{k: t[k] + q[k] for k in t} for t, q in zip(total, part)]
            else:
                part = input_covariances(model, b.x, b.context)
                count += b.x.shape[0]
                total = part if total is None else [t + q for t, q in zip(total, part)]
    count = max(count, 1)
    if kind == "diag":
        return {k: t / count for k, t in total.items()}
    if kind == "kfac":
        return [{k: v / count for k, v in t.items()} for t in total]
    return [t / count for t in total]
