"""The embedded default model: a tiny, random-init Qwen3-architecture model with a locally trained tokenizer.

Nothing is downloaded. The tokenizer is a byte-level BPE (Qwen2/3's pre-tokenizer, so digits are split one
by one) trained on chat-template renderings of fcray's generated data, with Qwen3's special tokens
(``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>`` special; ``<tool_call>``, ``<think>`` … as plain
added tokens, as in Qwen3, so vLLM's hermes parser finds them and decoding keeps them). The chat
template is TRL's ``qwen3.jinja`` byte for byte, so TRL recognises it and swaps in its training variant
for assistant-only loss.

:func:`ensure_tiny_model` builds once per configuration into a cache folder (atomic rename under a
file lock, safe when several Ray workers ask at once) and returns the folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path

from fcray.config import TinyModelConfig

# Qwen2/Qwen3's pre-tokenizer split pattern (tokenizer.json of Qwen/Qwen3-0.6B).
QWEN_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# The same pattern with letter runs split from the one space or punctuation mark Qwen's pattern lets them
# start with. Training the BPE on it leaves no merge across that boundary (see build_tokenizer).
ISOLATED_WORDS_PATTERN = QWEN_SPLIT_PATTERN.replace(r"[^\r\n\p{L}\p{N}]?\p{L}+", r"\p{L}+", 1)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# Plain added tokens in Qwen3 (special=False): kept by skip_special_tokens, single ids for parsers.
ADDED_TOKENS = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>")
BUILDER_VERSION = "1"  # bump when the build recipe changes, so caches rebuild


def qwen3_chat_template() -> str:
    """Qwen3's chat template as shipped by the installed TRL (trl/chat_templates/qwen3.jinja)."""
    from trl.chat_template_utils import qwen3_chat_template as template

    return template


def cache_root() -> Path:
    return Path(os.environ.get("FCRAY_CACHE", Path.home() / ".cache" / "fcray"))


def tiny_model_dir(config: TinyModelConfig) -> Path:
    key = json.dumps({**dataclasses.asdict(config), "v": BUILDER_VERSION}, sort_keys=True)
    return cache_root() / "models" / f"tiny-qwen3-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _tokenizer_corpus(config: TinyModelConfig, bootstrap) -> list[str]:
    """Chat-template renderings of generated examples (with augmentations) plus some plain chat."""
    from fcray.config import AugmentConfig
    from fcray.data.augment import augment_split, builtin_chat_rows
    from fcray.data.export import render_text
    from fcray.synth.generator import generate_examples

    # Every catalog tool (held-out ones too: the tokenizer only sees text, never a training signal).
    examples = generate_examples(config.tokenizer_corpus_examples, seed=config.seed + 7, holdout_share=0.1)
    added, _ = augment_split(examples, AugmentConfig(irrelevance_ratio=0.2, slot_filling_ratio=0.2,
                                                     multi_turn_ratio=0.2), "tokenizer")
    examples += added + builtin_chat_rows(200, random.Random(config.seed), "tokenizer")
    return [render_text(e, bootstrap) for e in examples]


def build_tokenizer(config: TinyModelConfig):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                       model_max_length=config.max_position_embeddings)
        fast.chat_template = qwen3_chat_template()
        return fast

    def split(pattern: str):
        return pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])

    def fresh() -> Tokenizer:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = split(QWEN_SPLIT_PATTERN)
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED_TOKENS])
        return tok

    # Rendering needs only the template, not a trained vocabulary: bootstrap with an empty BPE.
    corpus = _tokenizer_corpus(config, wrap(fresh()))
    tok = fresh()
    if config.isolate_words:
        tok.pre_tokenizer = split(ISOLATED_WORDS_PATTERN)
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    # Saved with Qwen's own pattern (what llama.cpp's qwen2 pre-tokenizer runs). With isolate_words no merge
    # joins a letter to the character before it, so BPE inside Qwen's " Paris" / "\"Paris" pre-tokens stops
    # at that boundary and the result equals the isolated split: tokens are the same either way.
    tok.pre_tokenizer = split(QWEN_SPLIT_PATTERN)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED_TOKENS])
    return wrap(tok)


def build_tiny_model(config: TinyModelConfig, out_dir: str | Path) -> Path:
    """Build tokenizer + random-init Qwen3 model into ``out_dir`` (overwritten)."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    out_dir = Path(out_dir)
    tokenizer = build_tokenizer(config)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab_size = -(-len(tokenizer) // 64) * 64  # pad the embedding to a multiple of 64
    model_config = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        head_dim=config.head_dim,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        dtype="float32",
    )
    torch.manual_seed(config.seed)
    model = Qwen3ForCausalLM(model_config)
    record = None
    if config.pretrain_tokens:
        from fcray.model.pretrain import pretrain

        record = pretrain(model, tokenizer, config, log=lambda line: print(f"[fcray model] {line}", flush=True))
    # Qwen's recommended non-thinking sampling; <|im_end|> ends a turn, <|endoftext|> ends a document.
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"], eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"], do_sample=True, temperature=0.7, top_p=0.8, top_k=20,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    n_params = sum(p.numel() for p in model.parameters())
    if record is not None:
        (out_dir / "pretraining.json").write_text(json.dumps({"parameters": n_params, **record}, indent=1) + "\n")
    weights = (f"pretrained on {record['tokens_seen']:,} tokens of fcray's generated corpus (no tool-call targets, "
               f"no held-out tools; final loss {record['final_loss']:.3f}, pretraining.json has the curve)"
               if record else "random weights")
    (out_dir / "README.md").write_text(
        f"# fcray tiny Qwen3\n\nThe embedded default model of fcray: Qwen3 architecture, "
        f"{n_params / 1e6:.2f}M parameters, {weights}, byte-level BPE tokenizer ({len(tokenizer)} tokens) "
        f"trained offline on fcray's generated function-calling data, Qwen3's chat template (from TRL).\n\n"
        f"Shape: {json.dumps(dataclasses.asdict(config))}\n"
    )
    return out_dir


def ensure_tiny_model(config: TinyModelConfig | None = None) -> Path:
    """Return the cached tiny model folder for ``config``, building it the first time."""
    from filelock import FileLock

    config = config or TinyModelConfig()
    target = tiny_model_dir(config)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").exists():  # another process built it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            build_tiny_model(config, staging)
            staging.chmod(0o755)  # mkdtemp makes it private; the cache is shared
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model_path(name_or_path: str, tiny: TinyModelConfig | None = None) -> str:
    """``tiny`` -> the built embedded model folder; anything else (Hub id or folder) is passed through."""
    if name_or_path == "tiny":
        return str(ensure_tiny_model(tiny))
    return name_or_path
