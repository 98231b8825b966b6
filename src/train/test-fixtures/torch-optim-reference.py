# Reference optimizer steps from PyTorch (torch.optim), for optim.test.ts.
# Run once with Debian's python3-torch:  /usr/bin/python3 torch-optim-reference.py > torch-optim-reference.json
# W is 2-d (decayed), b is 1-d (not decayed unless the case says so), as Graft's default parameter groups do.
import json
import torch

W0 = [[0.5, -0.25, 1.0], [-1.5, 0.75, 0.1]]
B0 = [0.2, -0.3, 0.05]
GRADS = [
    ([[0.1, -0.2, 0.3], [0.05, 0.4, -0.6]], [0.5, -0.1, 0.02]),
    ([[-0.3, 0.1, 0.2], [0.25, -0.4, 0.6]], [-0.2, 0.3, 0.1]),
    ([[0.05, 0.05, -0.1], [0.3, 0.2, -0.2]], [0.1, 0.1, -0.4]),
]

# name, torch class, kwargs, W group overrides, b group overrides, per-step lr scales
CASES = [
    ("sgd_momentum_wd", torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01), {}, {"weight_decay": 0.0}, [1, 1, 1]),
    ("sgd_nesterov_wd", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), {}, {"weight_decay": 0.0}, [1, 1, 1]),
    ("sgd_dampening", torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1), {}, {}, [1, 1, 1]),
    ("sgd_groups", torch.optim.SGD, dict(lr=0.1, momentum=0.5), {"lr": 0.2}, {"lr": 0.5}, [1, 1, 1]),
    ("adam_l2", torch.optim.Adam, dict(lr=0.01, weight_decay=0.1), {}, {"weight_decay": 0.0}, [1, 1, 1]),
    ("adamw", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1), {}, {"weight_decay": 0.0}, [1, 1, 1]),
    ("adamw_decay_1d", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1), {}, {}, [1, 1, 1]),
    ("adamw_scaled", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6), {}, {"weight_decay": 0.0}, [1, 0.5, 0.25]),
]

out = {"W0": W0, "b0": B0, "grads": GRADS, "cases": {}}
for name, cls, kw, wover, bover, scales in CASES:
    W = torch.tensor(W0, dtype=torch.float32, requires_grad=True)
    b = torch.tensor(B0, dtype=torch.float32, requires_grad=True)
    opt = cls([dict(params=[W], **wover), dict(params=[b], **bover)], **kw)
    base = [g["lr"] for g in opt.param_groups]
    steps = []
    for (gw, gb), s in zip(GRADS, scales):
        for g, lr in zip(opt.param_groups, base):
            g["lr"] = lr * s
        W.grad = torch.tensor(gw, dtype=torch.float32)
        b.grad = torch.tensor(gb, dtype=torch.float32)
        opt.step()
        steps.append({"W": W.detach().flatten().tolist(), "b": b.detach().tolist()})
    out["cases"][name] = {"scales": scales, "steps": steps}
print(json.dumps(out))
