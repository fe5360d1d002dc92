"""Probe: are the call's argument values the same tokens as in the prompt? (run by hand; not collected)

    .venv/bin/python tests/benchmarks/probe_value_tokens.py MODEL_DIR [VALIDATION_JSONL]

For every argument value of every call answer, renders prompt and answer with the model's chat template
and checks whether the value's tokens inside the answer's JSON occur verbatim among the prompt's tokens
(an identity copy) and what share of them occur there at all. Prints both shares and a few values.
"""
import json
import sys

from transformers import AutoTokenizer
from fcray.data.export import render_text, render_prompt
tok = AutoTokenizer.from_pretrained(sys.argv[1])
rows = [json.loads(l) for l in open(sys.argv[2] if len(sys.argv) > 2 else "/tmp/fcray-probe/data/validation.jsonl")]
n_val = n_seq = n_tok = n_tok_in = 0
examples = []
def contains(hay, needle):
    L = len(needle)
    return any(hay[i:i+L] == needle for i in range(len(hay) - L + 1))
for r in rows:
    if r["ground_truth"]["kind"] != "call": continue
    p = render_prompt(r, tok); f = render_text(r, tok)
    assert f.startswith(p)
    enc = tok(f, return_offsets_mapping=True, add_special_tokens=False)
    ids, offs = enc["input_ids"], enc["offset_mapping"]
    pids = [i for i, (a, b) in zip(ids, offs) if b <= len(p)]
    start = len(p)
    for call in r["messages"][-1]["tool_calls"]:
        for k, v in call["function"]["arguments"].items():
            s = json.dumps(v, ensure_ascii=False)
            if isinstance(v, str): s = s[1:-1]
            j = f.find(s, start)
            if j < 0: continue
            vt = [i for i, (a, b) in zip(ids, offs) if a < j + len(s) and b > j and a >= start]
            n_val += 1; n_seq += contains(pids, vt)
            n_tok += len(vt); n_tok_in += sum(t in set(pids) for t in vt)
            if len(examples) < 12:
                examples.append((s, [tok.decode([t]) for t in vt]))
            start = j + len(s)
print(f"values {n_val}: token sequence verbatim in prompt {n_seq/n_val:.3f}; value tokens present in prompt {n_tok_in/n_tok:.3f}")
for e in examples: print(e)
