"""The training loss on the installed Configurable release: torchtitan's cross entropy of the
batch (folded into its tokens where the release wants it), nanoGPT's mean loss times the token
count, each micro-batch's also added to the run's StepLoss."""

import torch
import torch.nn.functional as F

from nanogpt_titan.hosts import trainer_class
from nanogpt_titan.randomness import Randomness
from nanogpt_titan.run import NanoGPTRun


def test_the_loss_is_nanogpts_summed_and_every_micro_batch_is_metered():
    run = NanoGPTRun(Randomness())
    config = trainer_class().Config().loss
    config.run = run
    loss_fn = config.build()
    micro_batches = [(torch.randn(3, 5, 7), torch.randint(0, 7, (3, 5))) for _ in range(2)]
    sums = []
    for pred, labels in micro_batches:
        loss_sum, _ = loss_fn(pred, labels)
        nanogpt = F.cross_entropy(pred.flatten(0, 1), labels.flatten())  # nanoGPT's mean
        torch.testing.assert_close(loss_sum, nanogpt * labels.numel())
        sums.append(loss_sum)
    step_mean, last = run.step_loss.take()
    torch.testing.assert_close(step_mean, (sums[0] + sums[1]) / 30)
    torch.testing.assert_close(last, sums[1] / 15)
    normalised, _ = loss_fn(*micro_batches[0], global_valid_tokens=torch.tensor(30.0))
    torch.testing.assert_close(normalised, sums[0] / 30)
