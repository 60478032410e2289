"""Convert an old pickled training checkpoint (ckpt.pt: model, opt, step, samples, config)
to the training.checkpoint format (plain arrays + JSON). CPU time was not recorded then.

    python -m experiments.convert_pt_checkpoint OLD.pt NEW.npz ITERATIONS
"""
import sys

import torch

from thumbcodec.config import Config
from thumbcodec.model import RNNCodec
from training import checkpoint

old, new, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
ck = torch.load(old, map_location="cpu", weights_only=True)
model = RNNCodec(Config.from_dict(ck["config"]))
model.load_state_dict(ck["model"])
opt = torch.optim.Adam(model.parameters())
opt.load_state_dict(ck["opt"])
checkpoint.save(new, model, opt, {"step": ck["step"], "samples": ck["samples"],
                                  "cpu_seconds": None, "config": ck["config"],
                                  "iterations": iterations, "converted_from": old})
print(new, ck["step"])
