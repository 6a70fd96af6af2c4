"""Writes the fixtures of tests/remedi/pth_import_test.cpp: editors saved the way the original REMEDI
saves them (torch.save of the editor module's state dict, <type>/<layer>/weights.pth), for hidden
size 64 (the tiny GPT-2 fixture), and the directions they compute for two attribute vectors.

  python tests/reference/make_pth_fixtures.py tests/fixtures/remedi

Layout written (under original/, except the last):
  linear/1/weights.pth   nn.Linear(64, 64) as `w`                 (float32)
  linear/2/weights.pth   the same module in float16 (as GPT-J's editors are stored)
  mlp/1/weights.pth      Sequential(Linear, LeakyReLU(0.01), Linear) as `mlp`
  random/1/weights.pth   buffers `mean` (64) and `variance` (64 x 64, the original's layout)
  expected.safetensors   `attribute` (2, 64) and `direction.<type>.<layer>` (2, 64) float32
  ../evil/linear/1/weights.pth  a linear state dict that also pickles os.system (must be refused)
"""
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

H = 64
root = Path(sys.argv[1])
out = root / "original"
torch.manual_seed(7)


class Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(H, H)

    def forward(self, a):
        return self.w(a)


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(H, H), torch.nn.LeakyReLU(0.01), torch.nn.Linear(H, H)
        )

    def forward(self, a):
        return self.mlp(a)


def save(module_state, type_, layer, base=None):
    folder = (base or out) / type_ / str(layer)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(module_state, folder / "weights.pth")


attribute = torch.randn(2, H)
expected = {"attribute": attribute}

linear = Linear()
save(linear.state_dict(), "linear", 1)
expected["direction.linear.1"] = linear(attribute).detach()

half = Linear().half()
save(half.state_dict(), "linear", 2)
expected["direction.linear.2"] = half.float()(attribute).detach()

mlp = Mlp()
save(mlp.state_dict(), "mlp", 1)
expected["direction.mlp.1"] = mlp(attribute).detach()

mean = torch.randn(H)
variance = torch.diag(torch.rand(H))
save({"mean": mean, "variance": variance}, "random", 1)
expected["random.mean"] = mean
expected["random.variance"] = torch.diagonal(variance).contiguous()

evil = dict(Linear().state_dict())
evil["hook"] = os.system
save(evil, "linear", 1, root / "evil")

save_file({k: v.contiguous() for k, v in expected.items()}, str(out / "expected.safetensors"))
