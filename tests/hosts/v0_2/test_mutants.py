"""Named behaviour mutants: realistic bugs, each of which a named oracle test must catch.

Each mutant below patches the library (never its files) to reproduce one bug. The test runs
the mutant's oracles, which are the suite's own tests, in a fresh pytest process with
`NANOGPT_TITAN_MUTANT=<name>` (the root conftest applies the mutant before any test module is
imported), and asserts that they fail; the same oracles pass on the unpatched library.
"""

import functools
import multiprocessing
import os
import subprocess
import sys
import traceback
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nanogpt_titan import model, optim, randomness
from nanogpt_titan.checkpoint import mapping
from nanogpt_titan.data import datasets, prepare, vocabulary, windows

pytestmark = pytest.mark.slow
MUTANT_ENV_VAR = "NANOGPT_TITAN_MUTANT"


def _with_overrides(module: types.ModuleType, **overrides) -> types.SimpleNamespace:
    """A stand-in for `module` in which a few functions or classes are replaced."""
    return types.SimpleNamespace(**{**vars(module), **overrides})


# --- the model ------------------------------------------------------------------------------


def untied_head(patch):
    """The head gets a matrix of its own after init instead of sharing the token embedding's."""
    init_weights = model.NanoGPT.init_weights

    def untie(self, buffer_device=None):
        init_weights(self, buffer_device)
        self.lm_head.weight = nn.Parameter(self.wte.weight.detach().clone())

    patch.setattr(model.NanoGPT, "init_weights", untie)


def tanh_gelu(patch):
    """GPT-2's tanh approximation of GELU instead of nanoGPT's exact nn.GELU."""
    patch.setattr(model.model, "F", _with_overrides(F, gelu=functools.partial(F.gelu, approximate="tanh")))


def layernorm_eps_1e_6(patch):
    """LayerNorm with eps=1e-6 (a common default elsewhere) instead of torch's 1e-5."""
    patch.setattr(model.model, "nn", _with_overrides(nn, LayerNorm=functools.partial(nn.LayerNorm, eps=1e-6)))


def no_causal_mask(patch):
    """Attention sees future tokens: is_causal dropped from scaled_dot_product_attention."""

    def bidirectional(q, k, v, dropout_p=0.0, is_causal=False):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)

    patch.setattr(model.model, "F", _with_overrides(F, scaled_dot_product_attention=bidirectional))


def unscaled_c_proj_init(patch):
    """The residual projections get std 0.02 instead of 0.02 / sqrt(2 * n_layer)."""
    init_weights = model.model.Block.init_weights
    patch.setattr(
        model.model.Block, "init_weights", lambda self, residual_std: init_weights(self, model.model.INIT_STD)
    )


# --- the optimizer --------------------------------------------------------------------------


def _groups_by(select_decayed):
    def init(self, params, *args, weight_decay=0.0, **kwargs):
        params = list(params)
        decayed = [p for p in params if select_decayed(p)]
        rest = [p for p in params if not select_decayed(p) and p.requires_grad]
        groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
        super(optim.NanoGPTParamGroupsMixin, self).__init__([g for g in groups if g["params"]], *args, **kwargs)

    return init


def decay_on_vectors_too(patch):
    """Weight decay on biases and LayerNorm weights as well as on matrices."""
    patch.setattr(optim.NanoGPTParamGroupsMixin, "__init__", _groups_by(lambda p: p.requires_grad))


def decay_on_vectors_only(patch):
    """The groups swapped: decay on 1-D params, none on matrices and embeddings."""
    patch.setattr(optim.NanoGPTParamGroupsMixin, "__init__", _groups_by(lambda p: p.requires_grad and p.dim() < 2))


def frozen_params_optimized(patch):
    """Parameters with requires_grad=False still handed to the optimizer."""
    patch.setattr(optim.NanoGPTParamGroupsMixin, "__init__", _groups_by(lambda p: p.dim() >= 2))


# --- the data -------------------------------------------------------------------------------


def _map_batches(patch, transform):
    iterate = windows.RandomBlockTokenDataset.__iter__
    patch.setattr(windows.RandomBlockTokenDataset, "__iter__", lambda self: map(transform, iterate(self)))


def targets_not_shifted(patch):
    """The targets are the inputs themselves rather than the next tokens."""
    _map_batches(patch, lambda batch: (batch[0], batch[0]["input"].clone()))


def targets_shifted_by_two(patch):
    """Each target is the token two places after its input."""
    _map_batches(patch, lambda batch: ({"input": batch[0]["input"][:, :-1]}, batch[1][:, 1:]))


def _window_starts_shifted(patch, extra: int):
    randint = lambda high, *args, **kwargs: torch.randint(high + extra, *args, **kwargs)  # noqa: E731
    patch.setattr(windows, "torch", _with_overrides(torch, randint=randint))


def window_start_reads_past_the_end(patch):
    """Starts drawn from [0, n - seq_len] inclusive: the last target falls off the split."""
    _window_starts_shifted(patch, +1)


def last_window_never_drawn(patch):
    """Starts drawn from [0, n - seq_len - 1): the final window is never trained on."""
    _window_starts_shifted(patch, -1)


def resume_restarts_window_stream(patch):
    """Loading a checkpoint leaves the window generator at its seed: the stream starts over."""
    patch.setattr(
        windows.RandomBlockTokenDataset,
        "load_state_dict",
        lambda self, state: torch.set_rng_state(state["torch_rng_state"]),
    )


def validation_on_train_data(patch):
    """The validation dataset reads the training split."""
    patch.setitem(datasets.SPLITS, "shakespeare_char_validation", "train")


def every_rank_draws_the_first_streams(patch):
    """Each data-parallel rank draws streams 0..A-1 as if it were alone: all ranks see the same windows."""
    init = windows.RandomBlockTokenDataset.__init__

    def first_streams(self, *args, streams=range(1), **kwargs):
        init(self, *args, streams=range(len(streams)), **kwargs)

    patch.setattr(windows.RandomBlockTokenDataset, "__init__", first_streams)


def every_rank_drops_the_same_units(patch):
    """No rank reseeds dropout: torchtitan seeds every rank alike, so all ranks drop the same units."""
    patch.setattr(randomness, "_initialise_rank_invariantly", lambda model, seed: model.init_modules())


# --- the vocabulary ---------------------------------------------------------------------------


def vocab_not_sorted(patch):
    """Ids in descending order of the characters instead of sorted(set(text))."""
    patch.setattr(prepare, "np", _with_overrides(np, flatnonzero=lambda seen: np.flatnonzero(seen)[::-1]))


def bos_eos_inserted(patch):
    """Every encoding wrapped in BOS/EOS ids (here the newline's), as BPE tokenizers do."""
    encode = vocabulary.CharVocabulary.encode
    patch.setattr(vocabulary.CharVocabulary, "encode", lambda self, text: [0, *encode(self, text), 0])


# --- the schedule -----------------------------------------------------------------------------


def torchtitan_style_warmup(patch):
    """Warmup written as torchtitan's (s + 1) / warmup instead of nanoGPT's (it + 1) / (warmup + 1)."""
    factor = optim.nanogpt_lr_factor

    def warmup(it, warmup_iters, lr_decay_iters, min_lr_factor):
        if it < warmup_iters:
            return (it + 1) / warmup_iters
        return factor(it, warmup_iters, lr_decay_iters, min_lr_factor)

    patch.setattr(optim, "nanogpt_lr_factor", warmup)


def min_lr_ignored_after_decay(patch):
    """Past lr_decay_iters the cosine keeps going (back up) instead of holding min_lr."""
    factor = optim.nanogpt_lr_factor

    def cosine_forever(it, warmup_iters, lr_decay_iters, min_lr_factor):
        # cos(pi * ratio) is symmetric about ratio 1: iteration lr_decay_iters + k sits where lr_decay_iters - k does
        mirrored = max(2 * lr_decay_iters - it, warmup_iters) if it > lr_decay_iters else it
        return factor(mirrored, warmup_iters, lr_decay_iters, min_lr_factor)

    patch.setattr(optim, "nanogpt_lr_factor", cosine_forever)


# --- the checkpoint mapping -------------------------------------------------------------------


def orig_mod_prefix_kept(patch):
    """Keys of a compiled nanoGPT's checkpoint keep their `_orig_mod.` prefix."""
    patch.setattr(mapping, "COMPILED_PREFIX", "")


def conv1d_not_transposed(patch):
    """Hugging Face's Conv1D weights taken as they are, (in, out), instead of transposed."""
    patch.setattr(mapping, "CONV1D_WEIGHTS", ())


UNIT, HOSTS, V0_2 = "tests/unit", "tests/hosts", "tests/hosts/v0_2"
PARITY = f"{HOSTS}/test_parity.py::test_logits_and_gradients_equal_the_oracle"
ORACLES = {
    untied_head: [f"{UNIT}/test_model.py::test_head_is_tied_to_token_embedding_after_meta_init"],
    tanh_gelu: [PARITY],
    layernorm_eps_1e_6: [PARITY],
    no_causal_mask: [f"{UNIT}/test_model.py::test_causality_changing_token_t_changes_no_earlier_logit"],
    unscaled_c_proj_init: [f"{UNIT}/test_model.py::test_init_statistics_per_weight_family"],
    decay_on_vectors_too: [f"{V0_2}/test_optimizer.py::test_nanogpt_group_counts_and_its_log_lines"],
    decay_on_vectors_only: [f"{V0_2}/test_optimizer.py::test_nanogpt_group_counts_and_its_log_lines"],
    frozen_params_optimized: [
        f"{V0_2}/test_optimizer.py::test_every_trainable_param_in_exactly_one_group_decay_iff_matrix"
    ],
    targets_not_shifted: [f"{UNIT}/test_windows.py::test_windows_are_in_bounds_and_targets_shift_by_one"],
    targets_shifted_by_two: [f"{UNIT}/test_windows.py::test_windows_are_in_bounds_and_targets_shift_by_one"],
    window_start_reads_past_the_end: [f"{UNIT}/test_windows.py::test_windows_are_in_bounds_and_targets_shift_by_one"],
    last_window_never_drawn: [f"{UNIT}/test_windows.py::test_every_window_start_is_reachable_including_the_last"],
    resume_restarts_window_stream: [f"{UNIT}/test_windows.py::test_resume_continues_the_identical_stream"],
    validation_on_train_data: [
        f"{V0_2}/test_dataloader.py::test_tiny_shakespeares_splits_are_nanogpts_and_read_as_int64"
    ],
    every_rank_draws_the_first_streams: [
        f"{V0_2}/test_dataloader.py::test_rank_r_micro_batch_a_is_one_process_micro_batch_r_times_a_plus_a"
    ],
    every_rank_drops_the_same_units: [
        f"{UNIT}/test_randomness.py::test_rank_invariant_ranks_share_the_weights_and_drop_out_from_streams_of_their_own"
    ],
    vocab_not_sorted: [f"{UNIT}/test_prepare.py::test_tiny_shakespeare_prepares_into_nanogpts_bytes"],
    bos_eos_inserted: [f"{V0_2}/test_tokenizer.py::test_round_trip_and_no_special_tokens"],
    torchtitan_style_warmup: [f"{V0_2}/test_lr_scheduler.py::test_factor_is_get_lr_over_learning_rate"],
    min_lr_ignored_after_decay: [f"{V0_2}/test_lr_scheduler.py::test_factor_is_get_lr_over_learning_rate"],
    orig_mod_prefix_kept: [f"{UNIT}/test_checkpoint.py::test_nanogpt_ckpt_converts_to_a_dcp_folder_with_its_args"],
    conv1d_not_transposed: [f"{UNIT}/test_checkpoint.py::test_hf_gpt2_folder_converts_and_round_trips"],
}
MUTANTS = {mutant.__name__: mutant for mutant in ORACLES}


# Each run of oracles is a fresh pytest, so that its mutant is applied before any test module is
# imported; but not a fresh interpreter: the runs fork from one server process that has imported
# the heavy libraries once (torch, torchtitan: 5 s per interpreter). The server runs no torch op,
# so no OpenMP thread pool is forked.
FORK_SERVER = multiprocessing.get_context("forkserver")
FORK_SERVER.set_forkserver_preload(["torch", "torchtitan.train"])


def _pytest_in_this_process(repo_root: Path, tests: list[str], mutant: str | None, log: Path) -> None:
    """A forked run's body: pytest on the oracles, output to `log`, its exit status the process's."""
    os.chdir(repo_root)
    # A killed mutant needs one failing example, not the smallest: no shrinking (conftest's profile).
    os.environ["HYPOTHESIS_PROFILE"] = "ci-no-shrink"
    os.environ.pop(MUTANT_ENV_VAR, None)
    if mutant:
        os.environ[MUTANT_ENV_VAR] = mutant
    torch.set_num_threads(1)  # two runs share the machine's cores
    with log.open("w") as output:
        os.dup2(output.fileno(), sys.stdout.fileno())
        os.dup2(output.fileno(), sys.stderr.fileno())
    # torchtitan imported pytest plugins (anyio) in the server, too early for assertion rewriting in them.
    rewrite_notice = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    try:
        status = pytest.main(["-q", "-p", "no:cacheprovider", "-x", *rewrite_notice, *tests])
    except Exception:  # an exception would exit with 1, pytest's "tests failed": a mutant wrongly killed
        traceback.print_exc()
        status = pytest.ExitCode.INTERNAL_ERROR
    sys.exit(int(status))


def run_oracles(
    repo_root: Path, logs: Path, tests: list[str], mutant: str | None = None
) -> subprocess.CompletedProcess:
    log = logs / f"{mutant or 'library'}.log"
    run = FORK_SERVER.Process(target=_pytest_in_this_process, args=(repo_root, tests, mutant, log))
    run.start()
    run.join(timeout=600)
    if run.exitcode is None:
        run.kill()
    return subprocess.CompletedProcess(tests, run.exitcode, log.read_text() if log.exists() else "")


@pytest.fixture(scope="module")
def oracle_runs(repo_root, tmp_path_factory):
    """The oracles' runs, on the library (key None) and under each mutant, two processes at a time."""
    logs = tmp_path_factory.mktemp("oracle_runs")
    all_oracles = sorted({test for tests in ORACLES.values() for test in tests})
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {None: pool.submit(run_oracles, repo_root, logs, all_oracles)}
        runs |= {
            mutant.__name__: pool.submit(run_oracles, repo_root, logs, tests, mutant.__name__)
            for mutant, tests in ORACLES.items()
        }
        yield runs


def test_the_oracles_pass_on_the_library(oracle_runs):
    result = oracle_runs[None].result()
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("mutant", ORACLES, ids=lambda mutant: mutant.__name__)
def test_an_oracle_fails_under_the_mutant(oracle_runs, mutant):
    result = oracle_runs[mutant.__name__].result()
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, f"{mutant.__doc__}\n{result.stdout[-3000:]}"
