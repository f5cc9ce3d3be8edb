"""nanoGPT's batches in train.py's order (`nanogpt_titan.nanogpt_draws`)."""

import pytest
import torch

from nanogpt_titan.nanogpt_draws import NanoGPTBatches

BATCH, BLOCK, EVAL_ITERS, EVAL_INTERVAL = 2, 4, 2, 3


@pytest.fixture
def splits(token_file):
    return token_file(range(1000)), token_file(range(300))  # a window's first token is its start


def batches(splits, micro_batches: int, evaluates: bool = True) -> NanoGPTBatches:
    return NanoGPTBatches(*splits, BATCH, BLOCK, micro_batches, EVAL_INTERVAL, EVAL_ITERS, evaluates)


def nanogpt_starts(iterations: int, micro_batches: int, evaluates: bool) -> list[tuple[str, list[int]]]:
    """The window starts train.py draws from the global generator, in its order: the first
    batch; at the top of every eval_interval-th iteration (master only) eval_iters batches of
    each split; after every micro-step, the next micro-batch."""
    bound = {"train": 1000 - BLOCK, "val": 300 - BLOCK}
    draws = [("train", torch.randint(bound["train"], (BATCH,)).tolist())]
    for iteration in range(iterations):
        if evaluates and iteration % EVAL_INTERVAL == 0:
            draws += [
                (split, torch.randint(bound[split], (BATCH,)).tolist())
                for split in ("train", "val")
                for _ in range(EVAL_ITERS)
            ]
        draws += [("train", torch.randint(bound["train"], (BATCH,)).tolist()) for _ in range(micro_batches)]
    return draws


@pytest.mark.parametrize("micro_batches", [1, 2])
@pytest.mark.parametrize("evaluates", [True, False], ids=["master", "other-rank"])
def test_micro_batches_and_evaluations_are_drawn_in_train_pys_order(splits, micro_batches, evaluates):
    """Asked as the Trainer and validator ask, step by step (the step's micro-batches, then the
    validation after it: at steps 3 and 6), the generator serves train.py's draws in its order;
    iteration 0's evaluation, which no validation asks for, is drawn and reported."""
    torch.manual_seed(7)
    expected = nanogpt_starts(8, micro_batches, evaluates)
    torch.manual_seed(7)
    sequence, drawn, handed, reported = batches(splits, micro_batches, evaluates), [], [], []
    draw = sequence.draw

    def recorded(split):
        batch = draw(split)
        drawn.append((split, batch[0][:, 0].tolist()))
        return batch

    sequence.draw = recorded
    sequence.report = lambda iteration, evaluation: reported.append(iteration)
    for step in range(1, 9):
        for _ in range(micro_batches):
            inputs, targets = sequence.training_batch()
            assert torch.equal(targets[:, :-1], inputs[:, 1:])
            handed.append(inputs[:, 0].tolist())
        sequence.evaluation(step)
    assert drawn == expected[:-1]  # all but iteration 8's first micro-batch, which nothing has asked for yet
    evaluation_draws = 2 * EVAL_ITERS if evaluates else 0
    training_draws = [expected[0]] + [
        draw
        for position, draw in enumerate(expected[1:])
        if not _in_evaluation(position, micro_batches, evaluation_draws)
    ]
    assert handed == [starts for _, starts in training_draws[: 8 * micro_batches]]
    assert reported == ([0] if evaluates else [])


def _in_evaluation(position: int, micro_batches: int, evaluation_draws: int) -> bool:
    """Whether draw `position` (after the first) of nanogpt_starts belongs to an evaluation."""
    for iteration in range(8):
        if evaluation_draws and iteration % EVAL_INTERVAL == 0:
            if position < evaluation_draws:
                return True
            position -= evaluation_draws
        if position < micro_batches:
            return False
        position -= micro_batches
    return False


def test_an_evaluation_is_drawn_once_and_only_at_its_iterations(splits):
    sequence = batches(splits, 1)
    sequence.training_batch()  # iteration 0: its evaluation drawn here
    assert sequence.evaluation(0) is None and sequence.evaluation(1) is None
    assert sequence.evaluation(3) is not None and sequence.evaluation(3) is None


def test_the_state_with_the_processs_generator_resumes_the_same_sequence(splits):
    torch.manual_seed(3)
    uninterrupted = batches(splits, 2)
    for _ in range(5):
        uninterrupted.training_batch()
    uninterrupted.evaluation(3)
    state, generator = uninterrupted.state_dict(), torch.get_rng_state()
    expected = [uninterrupted.training_batch()[0] for _ in range(6)]
    torch.manual_seed(99)
    resumed = batches(splits, 2)
    resumed.load_state_dict(state)
    torch.set_rng_state(generator)  # the host checkpoints it beside (nanogpt_titan.randomness)
    assert all(torch.equal(a, resumed.training_batch()[0]) for a in expected)
