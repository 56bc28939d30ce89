"""PyTorch side of `cargo bench --bench trainer`: the same MLP training as the Rust side.

MLP 784-512-512-10 with ReLU, Adam(lr=1e-3), cross-entropy on synthetic data (normal features,
labels from a random linear teacher), a fixed number of warm-up steps and then timed steps.

    python torch_peer.py single --threads 2
    python -m torch.distributed.run --nproc_per_node=2 torch_peer.py ddp --threads 1

Prints one line per process: `PEER mode=... rank=... samples_per_s=... identical=...`.
"""
import argparse
import datetime
import time

import torch
import torch.nn as nn


def build():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["single", "ddp"])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    rank, world = 0, 1
    if args.mode == "ddp":
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
        rank, world = dist.get_rank(), dist.get_world_size()

    torch.manual_seed(0)
    chunks = 16
    features = torch.randn(args.batch * chunks, 784)
    labels = (features @ torch.randn(784, 10)).argmax(-1)
    net = build()
    model = DistributedDataParallel(net) if args.mode == "ddp" else net
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if world > 1:
                dist.barrier()
            started = time.perf_counter()
        chunk = (step * world + rank) % chunks
        lo, hi = chunk * args.batch, (chunk + 1) * args.batch
        loss = loss_fn(model(features[lo:hi]), labels[lo:hi])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    elapsed = time.perf_counter() - started

    identical = True
    if world > 1:
        dist.barrier()
        for param in net.parameters():
            reference = param.detach().clone()
            dist.broadcast(reference, 0)
            identical &= torch.equal(reference, param.detach())
        dist.destroy_process_group()
    rate = args.steps * args.batch * world / elapsed
    print(f"PEER mode={args.mode} rank={rank} threads={args.threads} samples_per_s={rate:.0f} identical={identical}", flush=True)


if __name__ == "__main__":
    main()
