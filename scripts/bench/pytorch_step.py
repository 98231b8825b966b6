#!/usr/bin/python3
"""PyTorch reference for bench/finetune.bench.ts: one full fine-tuning step (forward + backward of softmax
cross-entropy, every parameter requiring a gradient) of a torchvision model, and its forward-only time.

    /usr/bin/python3 scripts/bench/pytorch_step.py --model mobilenet_v2 --batch 32 --threads 2 [--reps 5]

BatchNorm runs with its running statistics (model.eval(), gradients still on), as Graft's default
batchNorm: 'frozen' does; there is no dropout in eval mode. Weights are PyTorch's default initialisation:
the cost of a step does not depend on their values. Prints one JSON object on stdout.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision

MODELS = {
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
    "resnet18": lambda: torchvision.models.resnet18(weights=None),
    # same architecture as the TF Hub EfficientNet-B0 in Graft's zoo (SiLU, squeeze-excitation)
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(weights=None),
}


def median_ms(fn, reps: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), default="mobilenet_v2")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MODELS[args.model]()
    model.eval()
    x = torch.rand(args.batch, 3, args.size, args.size)
    labels = torch.arange(args.batch) % 10

    def forward():
        with torch.no_grad():
            model(x)

    def step():
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()

    forward_ms = median_ms(forward, args.reps, args.warmup)
    step_ms = median_ms(step, args.reps, args.warmup)
    print(
        json.dumps(
            {
                "model": args.model,
                "torch": torch.__version__,
                "batch": args.batch,
                "size": args.size,
                "threads": args.threads,
                "forward_ms": round(forward_ms, 1),
                "step_ms": round(step_ms, 1),
                "step_img_per_s": round(args.batch / step_ms * 1000, 2),
                "step_over_forward": round(step_ms / forward_ms, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
